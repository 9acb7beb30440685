import { createHash } from "node:crypto";
import { currentSecret, rsaKeyId, rsaSignature } from "./signers.ts";
import { dataOf, type FormatEvent, type FormatSpec, firstOf, type MessageData } from "./types.ts";

const seconds = (at: Date | string) => new Date(at).getTime() / 1_000;

/** A UUID made from the event id, so every attempt carries the same `uuid`. */
function uuidOf(eventId: string): string {
  const hex = createHash("sha256").update(eventId).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function messageOf(data: MessageData, event: FormatEvent) {
  return {
    id: data.messageId ?? null,
    token: null,
    direction: "outgoing",
    message_id: data.messageId ?? null,
    to: firstOf(data.to),
    from: data.from ?? null,
    subject: data.subject ?? null,
    timestamp: seconds(event.occurredAt),
    spam_status: "NotChecked",
    tag: firstOf(data.tags),
  };
}

/** Postal's delivery status of the events it reports as a delivery. */
const DELIVERY_STATUS: Readonly<Record<string, string>> = {
  "email.delivered": "Sent",
  "email.delivery_delayed": "SoftFail",
  "email.failed": "HardFail",
  "email.held": "Held",
};

/** The `payload` Postal sends for each kind of event. */
function payloadOf(event: FormatEvent): Record<string, unknown> {
  const data = dataOf(event);
  if (event.type === "domain.dns_error") return { ...data };
  const message = messageOf(data, event);
  const status = DELIVERY_STATUS[event.type];
  if (status !== undefined) {
    const output = data.smtpResponse ?? "";
    return {
      message,
      status,
      details: data.reason ?? data.smtpResponse ?? status,
      output,
      sent_with_ssl: false,
      timestamp: seconds(event.occurredAt),
      time: null,
    };
  }
  if (event.type === "email.bounced") return { original_message: message, bounce: data.bounce ?? null };
  if (event.type === "email.opened" || event.type === "email.clicked") {
    return { message, url: data.url, ip_address: data.ip ?? null, user_agent: data.userAgent ?? null };
  }
  return { message, ...data };
}

/**
 * Postal: `{event,timestamp,payload,uuid}` with its names (`MessageSent`,
 * `MessageLoaded` …), signed with an RSA key as Postal signs: base64
 * signatures of the body in `X-Postal-Signature` (SHA-1) and
 * `X-Postal-Signature-256` (SHA-256), `X-Postal-Signature-KID` naming the key.
 * One key signs: a rotation's new one.
 */
export const postal: FormatSpec = {
  secretKind: "rsa",
  userAgent: "Postal/3.0.0",
  body: (event, eventName) =>
    JSON.stringify({
      event: eventName,
      timestamp: seconds(event.occurredAt),
      payload: payloadOf(event),
      uuid: uuidOf(event.id),
    }),
  headers(input) {
    const key = currentSecret(input.secrets);
    return {
      "x-postal-signature": rsaSignature(key, input.body, "sha1"),
      "x-postal-signature-256": rsaSignature(key, input.body, "sha256"),
      "x-postal-signature-kid": rsaKeyId(key),
    };
  },
};
