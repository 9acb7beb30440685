import { createHmac } from "node:crypto";
import type { EventTypeName } from "../../services/eventTypes.ts";
import { asObject, compact, contentId, dateOf, parseJson, sameText, str } from "../parse.ts";
import type { Mapper, Verifier } from "../types.ts";

/** Seed 004's own names and the catalog's: both are accepted. */
export const GENERIC_TYPES: Readonly<Record<string, EventTypeName>> = {
  "email.open": "email.opened",
  "email.click": "email.clicked",
  "email.bounce": "email.bounced",
  "email.unsubscribe": "email.unsubscribed",
  "email.sent": "email.sent",
  "email.delivered": "email.delivered",
  "email.delivery_delayed": "email.delivery_delayed",
  "email.bounced": "email.bounced",
  "email.complained": "email.complained",
  "email.opened": "email.opened",
  "email.clicked": "email.clicked",
  "email.unsubscribed": "email.unsubscribed",
};

/** Hex HMAC-SHA256 of the raw body with the source's secret, in X-Webhook-Signature. */
export const verifyGeneric: Verifier = (request, verification) => {
  const signature = request.headers["x-webhook-signature"];
  if (!signature) return "missing X-Webhook-Signature";
  if (!verification.secret) return "the source has no secret";
  const expected = createHmac("sha256", verification.secret).update(request.body).digest("hex");
  return sameText(signature.toLowerCase(), expected) ? null : "signature mismatch";
};

/** `{type, email_id, recipient, timestamp}`: one event per request, identified by its bytes. */
export const mapGeneric: Mapper = (request) => {
  const body = asObject(parseJson(request.body), "the body");
  const providerType = str(body.type) ?? "";
  return [
    {
      type: GENERIC_TYPES[providerType] ?? null,
      providerType,
      occurredAt: dateOf(body.timestamp),
      data: compact({
        provider: "GENERIC" as const,
        providerEventId: contentId(request.body),
        messageId: str(body.email_id),
        to: str(body.recipient) ? [str(body.recipient)!] : undefined,
      }),
    },
  ];
};
