import { createHmac } from "node:crypto";
import type { EventTypeName } from "../../services/eventTypes.ts";
import {
  asObject,
  compact,
  dateOf,
  type Json,
  objectAt,
  parseJson,
  sameText,
  staleTimestamp,
  str,
  strings,
} from "../parse.ts";
import type { MappedEvent, Mapper, Verifier } from "../types.ts";

/** Mailgun's `event` names; a `failed` one's severity makes its bounce hard (permanent) or soft (temporary). */
export const MAILGUN_TYPES: Readonly<Record<string, EventTypeName>> = {
  accepted: "email.queued",
  failed: "email.bounced",
  delivered: "email.delivered",
  rejected: "email.rejected",
  opened: "email.opened",
  clicked: "email.clicked",
  complained: "email.complained",
  unsubscribed: "email.unsubscribed",
};

/**
 * The body's `signature {timestamp, token, signature}`: hex HMAC-SHA256 of
 * timestamp + token keyed with the webhook signing key.
 */
export const verifyMailgun: Verifier = (request, verification, now) => {
  if (!verification.secret) return "the source has no signing key";
  let signature: Json;
  try {
    signature = objectAt(asObject(parseJson(request.body), "the body").signature);
  } catch {
    return "the body is not JSON";
  }
  const timestamp = str(signature.timestamp);
  const token = str(signature.token);
  const given = str(signature.signature);
  if (!timestamp || !token || !given) return "missing signature {timestamp, token, signature}";
  const stale = staleTimestamp(timestamp, now);
  if (stale) return stale;
  const expected = createHmac("sha256", verification.secret)
    .update(timestamp + token)
    .digest("hex");
  return sameText(given.toLowerCase(), expected) ? null : "signature mismatch";
};

/** `event-data`: one event per request, identified by its id. */
export const mapMailgun: Mapper = (request) => {
  const eventData = asObject(asObject(parseJson(request.body), "the body")["event-data"], "event-data");
  const providerType = str(eventData.event) ?? "";
  const severity = str(eventData.severity);
  const headers = objectAt(objectAt(eventData.message).headers);
  const status = objectAt(eventData["delivery-status"]);
  const event: MappedEvent = {
    type: MAILGUN_TYPES[providerType] ?? null,
    providerType,
    occurredAt: dateOf(eventData.timestamp),
    data: compact({
      provider: "MAILGUN" as const,
      providerEventId: str(eventData.id) ?? "",
      messageId: str(headers["message-id"]),
      to: strings(eventData.recipient),
      from: str(headers.from),
      subject: str(headers.subject),
      tags: strings(eventData.tags),
      bounce:
        providerType === "failed"
          ? compact({
              type: severity === "permanent" ? ("hard" as const) : ("soft" as const),
              code: str(status.code),
              reason: str(status.description) || str(status.message) || str(eventData.reason),
            })
          : undefined,
      click: str(eventData.url) ? { url: str(eventData.url)! } : undefined,
      userAgent: str(objectAt(eventData["client-info"])["user-agent"]),
      ip: str(eventData.ip),
    }),
  };
  return [event];
};
