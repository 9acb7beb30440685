import { eventNameIn } from "./eventNames.ts";
import { hmacSha256Hex } from "./hmacSha256Hex.ts";
import { postal } from "./postal.ts";
import { posthawk } from "./posthawk.ts";
import { postject } from "./postject.ts";
import { poststack } from "./poststack.ts";
import { standardWebhooks } from "./standardWebhooks.ts";
import type { FormatEvent, FormatSpec, WebhookFormat } from "./types.ts";

export const FORMATS: Readonly<Record<WebhookFormat, FormatSpec>> = {
  STANDARD_WEBHOOKS: standardWebhooks,
  POSTJECT: postject,
  POSTSTACK: poststack,
  POSTHAWK: posthawk,
  POSTAL: postal,
  HMAC_SHA256_HEX: hmacSha256Hex,
};

/** Header names some format sets: custom endpoint headers may not take them. */
export const FORMAT_HEADERS: readonly string[] = [
  "webhook-timestamp",
  "webhook-signature",
  "x-poststack-signature",
  "x-posthawk-signature",
  "x-posthawk-event",
  "x-postal-signature",
  "x-postal-signature-256",
  "x-postal-signature-kid",
  "x-webhook-signature",
];

/**
 * The format a logged request was sent in, read from the headers only that
 * format sends (custom headers cannot take their names), so a log shows the
 * body as sent even after the endpoint's format changed.
 */
export function formatOfSentHeaders(headers: unknown): WebhookFormat {
  const sent = (headers ?? {}) as Record<string, unknown>;
  if ("x-postal-signature-256" in sent) return "POSTAL";
  if ("x-poststack-signature" in sent) return "POSTSTACK";
  if ("x-posthawk-signature" in sent) return "POSTHAWK";
  if ("x-webhook-signature" in sent) return "HMAC_SHA256_HEX";
  if (sent["user-agent"] === postject.userAgent) return "POSTJECT";
  return "STANDARD_WEBHOOKS";
}

/** The body a receiver in `format` gets for `event`. */
export function formatBody(format: WebhookFormat, event: FormatEvent): string {
  return FORMATS[format].body(event, eventNameIn(format, event.type));
}

/**
 * An event's request in the endpoint's format: its body, and every header.
 * Custom endpoint headers go in first so that ours overwrite them: an
 * endpoint cannot forge the signature, id or content type. Names are
 * lower-case so a custom `Content-Type` lands on the same key as ours.
 * Every format carries `webhook-id` (the event id) for deduplication.
 */
export function formatRequest(input: {
  format: WebhookFormat;
  event: FormatEvent;
  timestampS: number;
  /** Valid secrets, the current one first. */
  secrets: readonly string[];
  /** Hookpost's own, for formats that do not name another. */
  userAgent: string;
  custom?: Record<string, string>;
}): { headers: Record<string, string>; body: string } {
  const spec = FORMATS[input.format];
  const eventName = eventNameIn(input.format, input.event.type);
  const body = spec.body(input.event, eventName);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.custom ?? {})) headers[name.toLowerCase()] = value;
  headers["content-type"] = "application/json";
  headers["user-agent"] = spec.userAgent ?? input.userAgent;
  headers["webhook-id"] = input.event.id;
  Object.assign(
    headers,
    spec.headers({
      msgId: input.event.id,
      timestampS: input.timestampS,
      body,
      secrets: input.secrets,
      eventName,
    }),
  );
  headers["x-hookpost-event"] = input.event.type;
  return { headers, body };
}
