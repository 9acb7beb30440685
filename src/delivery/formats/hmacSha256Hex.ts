import { currentSecret, hexHmac } from "./signers.ts";
import { dataOf, type FormatSpec, firstOf, isoTime } from "./types.ts";

/**
 * The plain scheme: `X-Webhook-Signature: <hex HMAC-SHA256 of the body>`
 * (the current secret's). Body: the catalog envelope with the `email.open`
 * style names, plus `email_id` and `recipient` as that platform names them.
 */
export const hmacSha256Hex: FormatSpec = {
  secretKind: "hmac",
  userAgent: null,
  body(event, eventName) {
    const data = dataOf(event);
    return JSON.stringify({
      id: event.id,
      type: eventName,
      timestamp: isoTime(event.occurredAt),
      data: event.payload,
      email_id: data.messageId ?? null,
      recipient: firstOf(data.to),
    });
  },
  headers: (input) => ({ "x-webhook-signature": hexHmac(currentSecret(input.secrets), input.body) }),
};
