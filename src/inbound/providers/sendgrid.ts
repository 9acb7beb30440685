import { createPublicKey, type KeyObject, verify } from "node:crypto";
import type { EventTypeName } from "../../services/eventTypes.ts";
import { compact, dateOf, type Json, parseJson, staleTimestamp, str, strings } from "../parse.ts";
import { InboundBodyError, type MappedEvent, type Mapper, type Verifier } from "../types.ts";

export const SENDGRID_TYPES: Readonly<Record<string, EventTypeName>> = {
  processed: "email.sent",
  delivered: "email.delivered",
  deferred: "email.delivery_delayed",
  bounce: "email.bounced",
  dropped: "email.rejected",
  open: "email.opened",
  click: "email.clicked",
  spamreport: "email.complained",
  unsubscribe: "email.unsubscribed",
  group_unsubscribe: "email.unsubscribed",
};

/** The verification key as SendGrid shows it (base64 DER), or PEM. */
function publicKeyOf(text: string): KeyObject {
  return text.includes("BEGIN PUBLIC KEY")
    ? createPublicKey(text)
    : createPublicKey({ key: Buffer.from(text, "base64"), format: "der", type: "spki" });
}

/**
 * The Signed Event Webhook: an ECDSA (P-256, SHA-256) signature, base64 DER,
 * of timestamp + raw body, in X-Twilio-Email-Event-Webhook-Signature and
 * -Timestamp.
 */
export const verifySendgrid: Verifier = (request, verification, now) => {
  const signature = request.headers["x-twilio-email-event-webhook-signature"];
  const timestamp = request.headers["x-twilio-email-event-webhook-timestamp"];
  if (!signature || !timestamp) return "missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp";
  if (!verification.publicKey) return "the source has no public key";
  const stale = staleTimestamp(timestamp, now);
  if (stale) return stale;
  try {
    const ok = verify(
      "sha256",
      Buffer.from(timestamp + request.body),
      publicKeyOf(verification.publicKey),
      Buffer.from(signature, "base64"),
    );
    return ok ? null : "signature mismatch";
  } catch {
    return "signature or public key unreadable";
  }
};

function mapOne(item: Json): MappedEvent {
  const providerType = str(item.event) ?? "";
  return {
    type: SENDGRID_TYPES[providerType] ?? null,
    providerType,
    occurredAt: dateOf(item.timestamp),
    data: compact({
      provider: "SENDGRID" as const,
      providerEventId: str(item.sg_event_id) ?? "",
      messageId: str(item.sg_message_id),
      to: strings(item.email),
      tags: strings(item.category),
      bounce:
        providerType === "bounce"
          ? compact({
              type: str(item.type) === "blocked" ? ("soft" as const) : ("hard" as const),
              code: str(item.status),
              reason: str(item.reason),
            })
          : undefined,
      click: str(item.url) ? { url: str(item.url)! } : undefined,
      smtpResponse: str(item.response),
      reason: providerType === "dropped" ? str(item.reason) : undefined,
      userAgent: str(item.useragent),
      ip: str(item.ip),
    }),
  };
}

/** SendGrid posts a JSON array of events; each carries its sg_event_id. */
export const mapSendgrid: Mapper = (request) => {
  const body = parseJson(request.body);
  if (!Array.isArray(body)) throw new InboundBodyError("the body is not a JSON array");
  return body.map((item, i) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new InboundBodyError(`event ${i} is not a JSON object`);
    }
    return mapOne(item as Json);
  });
};
