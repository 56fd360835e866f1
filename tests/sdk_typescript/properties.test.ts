/** Property tests (fast-check): the callback parser reads any report in each encoding, the client sends what it is given. */

import assert from "node:assert/strict";
import { test } from "node:test";

import fc from "fast-check";

import { Client, parseDeliveryCallback } from "../../generated/typescript/src/index.js";

const RUNS = Number(process.env["ESMS_FC_RUNS"] ?? 200);

interface ErrorInfo {
  error: number;
  message: string;
  data?: { message_id: string; user_id: string };
}

const errorInfo: fc.Arbitrary<ErrorInfo> = fc.record(
  {
    error: fc.integer({ min: -300, max: 300 }),
    // Any text, with what breaks naive parsers: quotes, %, +, &, = and the ____ separator.
    message: fc.oneof(fc.string({ unit: "grapheme" }), fc.constantFrom("a____b", '"quoted"', "100% + 1 & x=y", "%7B")),
    data: fc.record({ message_id: fc.stringMatching(/^[0-9a-f]{1,20}$/), user_id: fc.stringMatching(/^[0-9]{1,20}$/) }),
  },
  { requiredKeys: ["error", "message"] },
);

/** error_info as eSMS writes it into the query string, in each of its three encodings. */
function encode(info: ErrorInfo, form: "zns-by-phone" | "follower" | "zns-by-uid", reportedAt: string): string {
  const json = JSON.stringify(info);
  if (form === "zns-by-phone") return encodeURIComponent(JSON.stringify(json)); // a JSON string literal
  if (form === "follower") return encodeURIComponent(encodeURIComponent(`${json}____${reportedAt}`)); // twice
  return encodeURIComponent(json);
}

test("any delivery report, in any error_info encoding, is read back as sent", () => {
  fc.assert(
    fc.property(
      fc.record({
        smsId: fc.stringMatching(/^[0-9a-f]{1,42}$/),
        sendStatus: fc.constantFrom(0, 1, 2, 4, 5, 7),
        sendSuccess: fc.nat(1000),
        totalPrice: fc.integer({ min: 0, max: 10_000_000 }).map((cents) => cents / 10_000),
        typeId: fc.constantFrom(24, 25, 26, 27),
        info: errorInfo,
        form: fc.constantFrom("zns-by-phone" as const, "follower" as const, "zns-by-uid" as const),
      }),
      ({ smsId, sendStatus, sendSuccess, totalPrice, typeId, info, form }) => {
        const reportedAt = "15/01/2025 09:30:00";
        const query =
          `SMSID=${smsId}&SendStatus=${sendStatus}&SendSuccess=${sendSuccess}&TotalPrice=${totalPrice.toFixed(4)}` +
          `&TypeId=${typeId}&error_info=${encode(info, form, reportedAt)}`;

        const report = parseDeliveryCallback(query);

        assert.equal(report.smsId, smsId);
        assert.deepEqual([report.sendStatus, report.sendSuccess, report.totalPrice, report.smsType], [sendStatus, sendSuccess, totalPrice, typeId]);
        const decoded = report.decodedErrorInfo;
        assert.ok(decoded);
        assert.equal(decoded.error, info.error);
        assert.equal(decoded.message, info.message);
        assert.equal(decoded.data?.zaloMessageId, info.data?.message_id);
        assert.equal(decoded.reportedAt, form === "follower" ? reportedAt : undefined);
      },
    ),
    { numRuns: RUNS },
  );
});

test("the client sends the template data and RequestId it is given, and makes one up when none is", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" }), fc.string({ maxLength: 40, unit: "grapheme" })),
      fc.option(fc.string({ minLength: 1, maxLength: 50, unit: "grapheme" }), { nil: undefined }),
      async (templateData, requestId) => {
        const bodies: string[] = [];
        const client = new Client({
          apiKey: "K",
          secretKey: "S",
          baseUrl: "http://esms.test",
          fetch: async (_url, init) => {
            bodies.push(String(init.body));
            return new Response(JSON.stringify({ CodeResult: "100", SMSID: "x" }), { status: 200 });
          },
        });

        await client.sendZnsV6({ oaId: "1", phone: "0901888484", templateId: "2", templateData, requestId });

        const sent = JSON.parse(bodies[0] ?? "") as Record<string, unknown>;
        assert.deepEqual(sent["TempData"], { ...templateData });
        assert.deepEqual([sent["ApiKey"], sent["SecretKey"], sent["OAID"], sent["TempID"]], ["K", "S", "1", "2"]);
        if (requestId === undefined) assert.match(String(sent["RequestId"]), /^[0-9a-f-]{36}$/);
        else assert.equal(sent["RequestId"], requestId);
      },
    ),
    { numRuns: RUNS },
  );
});
