/** Every layout an endpoint can receive requests in (`Endpoint.format`). */
export const WEBHOOK_FORMATS = [
  "STANDARD_WEBHOOKS",
  "POSTJECT",
  "POSTSTACK",
  "POSTHAWK",
  "POSTAL",
  "HMAC_SHA256_HEX",
] as const;

export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** The stored event a request is built from. */
export type FormatEvent = { id: string; type: string; occurredAt: Date | string; payload: unknown };

/**
 * What a secret of a format is: a Standard Webhooks `whsec_<base64>` key, any
 * string used as HMAC key bytes, or a PEM RSA private key (Postal).
 */
export type SecretKind = "whsec" | "hmac" | "rsa";

/** What a format's signature headers are made from. `secrets`: the current one first. */
export type SignInput = {
  msgId: string;
  timestampS: number;
  body: string;
  secrets: readonly string[];
  /** The event's name in this format. */
  eventName: string;
};

/** One platform's way of sending an event: its body, its own headers, its User-Agent. */
export type FormatSpec = {
  secretKind: SecretKind;
  /** null: Hookpost's own. */
  userAgent: string | null;
  /** The same bytes for every attempt of a delivery (receivers dedupe on them). */
  body(event: FormatEvent, eventName: string): string;
  /** Signature, timestamp and event headers, lower-case names. */
  headers(input: SignInput): Record<string, string>;
};

/** The message fields of an event's data, as publishers send them (src/services/samples.ts). */
export type MessageData = {
  messageId?: unknown;
  stream?: unknown;
  from?: unknown;
  to?: unknown;
  subject?: unknown;
  tags?: unknown;
  metadata?: unknown;
  [field: string]: unknown;
};

export function dataOf(event: FormatEvent): MessageData {
  const { payload } = event;
  return payload !== null && typeof payload === "object" && !Array.isArray(payload)
    ? (payload as MessageData)
    : {};
}

/** A recipient as one address: the first of a list. */
export function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

export const isoTime = (at: Date | string) => new Date(at).toISOString();
