/** What the SDK's tests share: the served mock (started by test_sdk_typescript.py) and its demo data. */

import { createHash } from "node:crypto";

import { Client, type ClientOptions } from "../../generated/typescript/src/index.js";
import { MockControlClient } from "../../generated/typescript/src/mock.js";

export const API_KEY = "DEMO_API_KEY";
export const SECRET_KEY = "DEMO_SECRET_KEY";
export const OAID = "4097311281936189049";
export const FOLLOWER = "7800378501923859642";
export const PHONE = "0901888484";
export const OTP_TEMPLATE = "205644";
// SHA-256 of the 84... form of PHONE, as send_zns_by_hashed_phone expects it.
export const HASHED_PHONE = createHash("sha256").update("84" + PHONE.slice(1)).digest("hex");

/** The served mock's base URL, from the pytest wrapper. */
export function mockUrl(): string {
  const url = process.env["ESMS_MOCK_URL"];
  if (!url) throw new Error("ESMS_MOCK_URL is not set: run these tests through tests/sdk_typescript/test_sdk_typescript.py");
  return url;
}

/** A client of the served mock with the demo credentials; a retry does not wait. */
export function demoClient(options: ClientOptions = {}): Client {
  return new Client({
    apiKey: API_KEY,
    secretKey: SECRET_KEY,
    baseUrl: mockUrl(),
    sleep: async () => {},
    ...options,
  });
}

export function control(): MockControlClient {
  return new MockControlClient(mockUrl());
}
