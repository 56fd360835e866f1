/**
 * The OTP service against the eSMS mock, started by test_otp_service_ts.py (ESMS_MOCK_URL, with
 * tests/esms_fixtures.yaml and a delivery delay only the mock's clock gets past). The service
 * runs its real HTTP server on a free port, which is our CallbackUrl; the mock's control
 * plane (esms-zalo-sdk/mock) resets it, moves its clock to deliver, and shows its journal.
 */

import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, test } from "node:test";

import { MockControlClient } from "esms-zalo-sdk/mock";

import { OtpService, otpRequestHandler, type Delivery } from "../src/otp-service.js";

const PHONE = "0901888484";
const INACTIVE_ZALO_USER = "0900000114"; // the mock's magic recipient: accepted, then Zalo error -114
const OAID = "1234567890123456789";
const OTP_TEMPLATE = "300001";
const DELIVERY_DELAY = Number(process.env["ESMS_MOCK_DELIVERY_DELAY"] ?? 3600);

const mockUrl = process.env["ESMS_MOCK_URL"] ?? "";
const mock = new MockControlClient(mockUrl);
// The service's own HTTP server: its address is our CallbackUrl, so it is known only once listening.
const server = createServer();
let app = "";
let service: OtpService;

before(async () => {
  assert.ok(mockUrl, "ESMS_MOCK_URL is not set: run through test_otp_service_ts.py");
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  app = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Configured like production, pointed at the mock; the CallbackUrl is the service's own endpoint.
  service = new OtpService({
    apiKey: "OTP_SERVICE_API_KEY",
    secretKey: "OTP_SERVICE_SECRET_KEY",
    oaId: OAID,
    otpTemplateId: OTP_TEMPLATE,
    baseUrl: mockUrl,
    callbackUrl: `${app}/esms/callback`,
  });
  server.on("request", otpRequestHandler(service));
});

after(() => {
  server.close();
});

beforeEach(async () => {
  await mock.reset();
});

async function postOtp(phone: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await fetch(`${app}/otp`, { method: "POST", body: JSON.stringify({ phone }), headers: { "Content-Type": "application/json" } });
  return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
}

/** Our record of `smsId` once the mock has called us back (the mock says when it has). */
async function deliveredReport(smsId: string): Promise<Delivery> {
  await mock.advanceClock(DELIVERY_DELAY + 60);
  for (let poll = 0; poll < 200; poll += 1) {
    const [callback] = await mock.callbacks({ smsid: smsId });
    if (callback && callback.state !== "pending") break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const answer = await fetch(`${app}/otp/${smsId}`);
  return (await answer.json()) as Delivery;
}

test("an OTP is sent, delivered when the clock moves, and recorded from the callback", async () => {
  const answer = await postOtp(PHONE);

  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const smsId = String(answer.body["smsId"]);
  // What eSMS received: our OA, our template, our CallbackUrl and the code we keep.
  const sent = await mock.message(smsId);
  assert.equal(sent.operation, "send_zns_v6");
  assert.equal(sent.request["OAID"], OAID);
  assert.equal(sent.request["TempID"], OTP_TEMPLATE);
  assert.equal(sent.request["CallbackUrl"], `${app}/esms/callback`);
  const otp = String((sent.request["TempData"] as Record<string, unknown>)["otp"]);
  assert.ok(service.verifyOtp(PHONE, otp));
  // Nothing is delivered until the mock's clock passes the delivery delay.
  assert.equal((await (await fetch(`${app}/otp/${smsId}`)).json() as Delivery).status, "sent");

  const delivery = await deliveredReport(smsId);

  assert.equal(delivery.status, "delivered");
  const [callback] = await mock.callbacks({ smsid: smsId });
  assert.equal(callback?.state, "delivered");
  assert.equal(callback?.attempt_count, 1);
  assert.equal(callback?.attempts[0]?.status_code, 200);
});

test("a delivery failure is recorded with Zalo's error", async () => {
  const answer = await postOtp(INACTIVE_ZALO_USER);

  assert.equal(answer.status, 202); // eSMS accepts it: the failure comes later, in the callback
  const delivery = await deliveredReport(String(answer.body["smsId"]));
  assert.equal(delivery.status, "failed");
  assert.equal(delivery.errorCode, -114);
  assert.match(delivery.error ?? "", /inactive/);
});

test("a template error is reported and nothing is sent", async () => {
  await mock.addScenario({ operation: "send_zns_v6", code: "789", times: 1 });

  const answer = await postOtp(PHONE);

  assert.equal(answer.status, 422);
  assert.equal(answer.body["error"], "template_error");
  assert.equal(answer.body["code"], "789");
  assert.deepEqual(await mock.messages(), []); // a refused request is not in the journal
  assert.equal((await postOtp(PHONE)).status, 202); // times: 1, the next one goes through
});

test("a request that is no delivery report is refused by the callback endpoint", async () => {
  const answer = await fetch(`${app}/esms/callback?SendStatus=5`);

  assert.equal(answer.status, 400);
});
