import { standardWebhooks } from "./standardWebhooks.ts";
import { dataOf, type FormatSpec, firstOf, isoTime } from "./types.ts";

const MESSAGE_FIELDS = new Set(["messageId", "stream", "from", "to", "subject", "tags", "metadata"]);

/**
 * Postject: a flat `{id,type,to,subject,metadata,timestamp}` (id: the message's),
 * followed by the event's own fields (bounce, url …). Postject signs nothing;
 * the Standard Webhooks headers ride along for receivers that want to verify.
 */
export const postject: FormatSpec = {
  secretKind: "whsec",
  userAgent: "Postject-Webhook-Dispatcher/1.0",
  body(event, eventName) {
    const data = dataOf(event);
    const own = Object.fromEntries(Object.entries(data).filter(([field]) => !MESSAGE_FIELDS.has(field)));
    return JSON.stringify({
      id: typeof data.messageId === "string" ? data.messageId : event.id,
      type: eventName,
      to: firstOf(data.to),
      subject: data.subject ?? null,
      metadata: data.metadata ?? {},
      timestamp: isoTime(event.occurredAt),
      ...own,
    });
  },
  headers: standardWebhooks.headers,
};
