/**
 * parseDeliveryCallback: the three real encodings of error_info, and malformed callbacks. The
 * query strings are the Python SDK's samples (tests/sdk/test_sdk_callbacks.py), built the way
 * eSMS sends them: `{` and `}` left unescaped in the ZNS samples, error_info encoded twice for
 * follower and journey messages.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CallbackParseError, EsmsError, parseDeliveryCallback } from "../../generated/typescript/src/index.js";

const ZNS_BY_PHONE =
  "SMSID=0f1e2d3c4b5a69788796a5b4c3d2e1f0251&SendFailed=1&SendStatus=5&SendSuccess=0" +
  "&TotalPrice=0.0000&TotalReceiver=1&TotalSent=1&RequestId=&TypeId=25&telcoid=2" +
  "&phonenumber=0900000114&partnerids=" +
  "&error_info=%22{%5C%22error%5C%22:-114,%5C%22message%5C%22:%5C%22User%20is%20inactive%20or%20rejected" +
  "%20this%20message%5C%22}%22" +
  "&oaid=4097311281936189049&tempid=205644";

const FOLLOWER =
  "SMSID=9c4d2f7a1be04c1fa0b1d2e3f4a5b6c7250&SendFailed=0&SendStatus=5&SendSuccess=1" +
  "&TotalPrice=55.0000&TotalReceiver=1&TotalSent=1&RequestId=req-0001&TypeId=26" +
  "&phonenumber=312158068343230" +
  "&error_info=%257B%2522data%2522%253A%257B%2522message_id%2522%253A%2522e1a60e8890be9de4c4ab%2522%252C" +
  "%2522user_id%2522%253A%252231215806834323092%2522%257D%252C%2522error%2522%253A0%252C%2522message" +
  "%2522%253A%2522Success%2522%257D____15%252F01%252F2025%252009%253A30%253A00" +
  "&oaid=4097311281936189049&partnerids=e1a60e8890be9de4c4ab";

const JOURNEY =
  "SMSID=9c4d2f7a1be04c1fa0b1d2e3f4a5b6c7250&SendFailed=0&SendStatus=5&SendSuccess=1" +
  "&TotalPrice=300.0000&TotalReceiver=1&TotalSent=1&RequestId=req-0106&TypeId=27" +
  "&phonenumber=312158068343230" +
  "&error_info=%257B%2522data%2522%253A%257B%2522message_id%2522%253A%2522e1a60e8890be9de4c4ab%2522%252C" +
  "%2522user_id%2522%253A%252231215806834323092%2522%257D%252C%2522error%2522%253A0%252C%2522message" +
  "%2522%253A%2522Success%2522%257D____16%252F01%252F2025%252014%253A05%253A09" +
  "&oaid=4097311281936189049&partnerids=e1a60e8890be9derir3gfbff";

const ZNS_BY_UID =
  "SMSID=82b0bb8aed914a0aab8deba567c9b8c2&SendFailed=0&SendStatus=5&SendSuccess=1" +
  "&TotalPrice=300.0000&TotalReceiver=1&TotalSent=1&RequestId=req-0103&TypeId=25&telcoid=9" +
  "&phonenumber=7800378501923859642&partnerids=e1a60e8890be9de4c4ab" +
  "&error_info={%22error%22:0,%22message%22:%22Success%22,%22data%22:{%22delivery_time%22:null," +
  "%22message%22:%22Delivered%20to%20the%20handset%22,%22status%22:1}}" +
  "&oaid=4097311281936189049&tempid=205644";

const SAMPLES = { "zns-by-phone": ZNS_BY_PHONE, follower: FOLLOWER, journey: JOURNEY, "zns-by-uid": ZNS_BY_UID };

test("a ZNS-by-phone callback decodes the JSON string literal", () => {
  const report = parseDeliveryCallback(ZNS_BY_PHONE);

  assert.equal(report.smsId, "0f1e2d3c4b5a69788796a5b4c3d2e1f0251");
  assert.deepEqual([report.sendStatus, report.sendFailed, report.sendSuccess], [5, 1, 0]);
  assert.deepEqual([report.smsType, report.carrierId, report.templateId], [25, 2, "205644"]);
  assert.equal(report.totalPrice, 0);
  assert.equal(report.requestId, "");
  const info = report.decodedErrorInfo;
  assert.ok(info);
  assert.equal(info.error, -114);
  assert.equal(info.message, "User is inactive or rejected this message");
  assert.equal(info.reportedAt, undefined);
});

test("a follower callback decodes the double encoding and the report time", () => {
  const report = parseDeliveryCallback(FOLLOWER);

  assert.deepEqual([report.smsType, report.carrierId, report.templateId], [26, undefined, undefined]);
  assert.equal(report.totalPrice, 55);
  const info = report.decodedErrorInfo;
  assert.ok(info && info.error === 0 && info.message === "Success");
  assert.ok(info.data);
  assert.equal(info.data.zaloMessageId, "e1a60e8890be9de4c4ab");
  assert.equal(info.data.zaloMessageId, report.zaloMessageId);
  assert.equal(info.data.userId, "31215806834323092");
  assert.equal(info.reportedAt, "15/01/2025 09:30:00");
});

test("a journey callback decodes like a follower callback", () => {
  const report = parseDeliveryCallback(JOURNEY);

  assert.equal(report.smsType, 27);
  assert.equal(report.decodedErrorInfo?.reportedAt, "16/01/2025 14:05:09");
  assert.notEqual(report.decodedErrorInfo?.data?.zaloMessageId, report.zaloMessageId);
});

test("a ZNS-by-uid callback decodes the plain JSON object", () => {
  const report = parseDeliveryCallback(ZNS_BY_UID);

  assert.equal(report.carrierId, 9);
  assert.equal(report.recipient, "7800378501923859642");
  const data = report.decodedErrorInfo?.data;
  assert.ok(data);
  assert.deepEqual([data.status, data.deliveryTime, data.message], [1, null, "Delivered to the handset"]);
});

describe("every other form of the same callback parses alike", () => {
  for (const [name, query] of Object.entries(SAMPLES)) {
    test(`${name}: URLSearchParams, an Express-style object, a full URL`, () => {
      const expected = parseDeliveryCallback(query);
      const params = new URLSearchParams(query);
      const expressStyle = Object.fromEntries(params);

      assert.deepEqual(parseDeliveryCallback(params), expected);
      assert.deepEqual(parseDeliveryCallback(expressStyle), expected);
      assert.deepEqual(parseDeliveryCallback("https://your-server.example/esms-callback?" + query), expected);
      assert.deepEqual(parseDeliveryCallback("/esms-callback?" + query), expected);
    });
  }
});

test("parameters outside the spec are kept under their own names", () => {
  const report = parseDeliveryCallback("SMSID=abc&SendStatus=2&switchsmsid=&NewThing=7") as unknown as Record<string, unknown>;

  assert.equal(report["NewThing"], "7");
  assert.equal(report["decodedErrorInfo"], undefined);
});

const MALFORMED: [string, string, string][] = [
  ["no-smsid", "SendStatus=5&TypeId=25", "SMSID"],
  ["empty-smsid", "SMSID=&SendStatus=5", "SMSID"],
  ["no-sendstatus", "SMSID=abc", "SendStatus"],
  ["sendstatus-not-a-number", "SMSID=abc&SendStatus=five", "SendStatus"],
  ["sendstatus-not-a-state", "SMSID=abc&SendStatus=3", "SendStatus"],
  ["totalprice-not-a-number", "SMSID=abc&SendStatus=5&TotalPrice=lots", "TotalPrice"],
  ["typeid-not-whole", "SMSID=abc&SendStatus=5&TypeId=2.5", "TypeId"],
  ["error-info-not-json", "SMSID=abc&SendStatus=5&error_info={not json", "error_info"],
  ["error-info-quoted-non-json", "SMSID=abc&SendStatus=5&error_info=%22not%20json%22", "error_info"],
  ["error-info-not-an-object", "SMSID=abc&SendStatus=5&error_info=[1,2]", "error_info"],
  ["error-info-without-error", "SMSID=abc&SendStatus=5&error_info={%22message%22:%22no error field%22}", "error_info"],
  ["error-info-double-encoded-garbage", "SMSID=abc&SendStatus=5&error_info=%257Bbroken____15%252F01%252F2025", "error_info"],
  ["smsid-twice", "SMSID=abc&SMSID=def&SendStatus=5", "SMSID"],
];

describe("a malformed callback is refused, naming the parameter", () => {
  for (const [name, query, parameter] of MALFORMED) {
    test(name, () => {
      assert.throws(
        () => parseDeliveryCallback(query),
        (error: unknown) => error instanceof CallbackParseError && error instanceof EsmsError && error.parameter === parameter && error.message.includes(parameter),
      );
    });
  }
});

test("a URL inside a value does not make the query a URL", () => {
  const report = parseDeliveryCallback("SMSID=abc&SendStatus=5&error_info={%22error%22:0,%22message%22:%22see https://zalo.me/x%22}");

  assert.equal(report.smsId, "abc");
  assert.equal(report.decodedErrorInfo?.message, "see https://zalo.me/x");
});
