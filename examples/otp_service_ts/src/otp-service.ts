/**
 * The OTP service: the application under test of this example, a small Node service.
 *
 * - `OtpService.sendOtp(phone)` sends a six-digit code with the ZNS template of the settings
 *   (`sendZnsV6`) and remembers it; `verifyOtp(phone, code)` checks it.
 * - `OtpService.recordCallback(query)` reads eSMS's delivery report (the GET to our
 *   CallbackUrl) and records the delivery status per SMSID.
 * - `createOtpServer(service)`: the HTTP face, with node:http: `POST /otp`, `GET /otp/<smsId>`
 *   and the callback endpoint `GET /esms/callback`.
 *
 * Nothing here knows about the mock: the base URL, keys and CallbackUrl come from `Settings`
 * (`settingsFromEnv()` in production).
 */

import { randomInt } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

import {
  CallbackParseError,
  Client,
  EsmsApiError,
  EsmsError,
  TemplateError,
  parseDeliveryCallback,
} from "esms-zalo-sdk";

export interface Settings {
  apiKey: string;
  secretKey: string;
  oaId: string;
  otpTemplateId: string;
  callbackUrl?: string;
  baseUrl?: string;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    apiKey: required("ESMS_API_KEY"),
    secretKey: required("ESMS_SECRET_KEY"),
    oaId: required("ESMS_OA_ID"),
    otpTemplateId: required("ESMS_OTP_TEMPLATE_ID"),
    callbackUrl: env["ESMS_CALLBACK_URL"],
    baseUrl: env["ESMS_BASE_URL"],
  };
}

/** What we know about one message. */
export interface Delivery {
  smsId: string;
  phone: string;
  status: "sent" | "delivered" | "failed" | "rejected";
  errorCode?: number;
  error?: string;
}

/** The OTP could not be sent. `reason`: template (the template or its data), refused, unavailable. */
export class OtpError extends Error {
  constructor(
    readonly reason: "template" | "refused" | "unavailable",
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class OtpService {
  private readonly client: Client;
  private readonly codes = new Map<string, string>();
  private readonly deliveries = new Map<string, Delivery>();

  constructor(
    readonly settings: Settings,
    private readonly newCode: () => string = () => String(randomInt(1_000_000)).padStart(6, "0"),
  ) {
    this.client = new Client({ apiKey: settings.apiKey, secretKey: settings.secretKey, baseUrl: settings.baseUrl });
  }

  async sendOtp(phone: string): Promise<Delivery> {
    const code = this.newCode();
    let smsId: string;
    try {
      const sent = await this.client.sendZnsV6({
        oaId: this.settings.oaId,
        phone,
        templateId: this.settings.otpTemplateId,
        templateData: { otp: code },
        callbackUrl: this.settings.callbackUrl,
      });
      smsId = sent.smsId ?? "";
    } catch (error) {
      // 789 and friends: our template or its data is wrong.
      if (error instanceof TemplateError) throw new OtpError("template", error.esmsMessage, error.code);
      if (error instanceof EsmsApiError) throw new OtpError("refused", error.esmsMessage, error.code);
      // No usable answer (connection, timeout, 5xx after retries).
      if (error instanceof EsmsError) throw new OtpError("unavailable", error.message);
      throw error;
    }
    this.codes.set(phone, code);
    // A callback may have been recorded already: keep what it said.
    if (!this.deliveries.has(smsId)) this.deliveries.set(smsId, { smsId, phone, status: "sent" });
    return this.deliveries.get(smsId) as Delivery;
  }

  verifyOtp(phone: string, code: string): boolean {
    return this.codes.get(phone) === code;
  }

  /** Record eSMS's delivery report; throws CallbackParseError for a request that is not one. */
  recordCallback(query: string): Delivery {
    const report = parseDeliveryCallback(query);
    const info = report.decodedErrorInfo;
    let status: Delivery["status"] = "sent";
    if (report.sendStatus === 4) status = "rejected";
    else if (report.sendStatus === 5) status = (report.sendSuccess ?? 0) > 0 ? "delivered" : "failed";
    const known = this.deliveries.get(report.smsId) ?? { smsId: report.smsId, phone: report.recipient ?? "", status };
    const delivery: Delivery = { ...known, status };
    if (info && info.error) {
      delivery.errorCode = info.error;
      delivery.error = info.message ?? undefined;
    }
    this.deliveries.set(report.smsId, delivery);
    return delivery;
  }

  delivery(smsId: string): Delivery | undefined {
    return this.deliveries.get(smsId);
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function createOtpServer(service: OtpService): Server {
  return createServer(otpRequestHandler(service));
}

/** The service's HTTP routes, for a server of the caller's (one whose port must be known first). */
export function otpRequestHandler(service: OtpService): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method === "POST" && url.pathname === "/otp") {
      void readJson(request).then(async (body) => {
        const phone = String(body["phone"] ?? "").trim();
        if (!phone) return reply(response, 400, { error: "phone_required" });
        try {
          const delivery = await service.sendOtp(phone);
          return reply(response, 202, { smsId: delivery.smsId, status: delivery.status });
        } catch (error) {
          if (!(error instanceof OtpError)) return reply(response, 500, { error: "internal_error" });
          const status = error.reason === "unavailable" ? 503 : 422;
          return reply(response, status, { error: `${error.reason}_error`, code: error.code, message: error.message });
        }
      });
      return;
    }
    if (request.method === "GET" && url.pathname.startsWith("/otp/")) {
      const delivery = service.delivery(decodeURIComponent(url.pathname.slice("/otp/".length)));
      return delivery ? reply(response, 200, delivery) : reply(response, 404, { error: "unknown_sms_id" });
    }
    if (request.method === "GET" && url.pathname === "/esms/callback") {
      // The raw query string: error_info's encodings survive only undecoded.
      try {
        service.recordCallback(url.search);
      } catch (error) {
        if (error instanceof CallbackParseError) return reply(response, 400, { error: "not_a_delivery_report", message: error.message });
        throw error;
      }
      response.writeHead(200, { "Content-Type": "text/plain" });
      response.end("OK");
      return;
    }
    reply(response, 404, { error: "not_found" });
  };
}
