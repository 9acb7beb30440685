import { createHmac } from "node:crypto";
import type { EventTypeName } from "../../services/eventTypes.ts";
import {
  asObject,
  compact,
  dateOf,
  objectAt,
  parseJson,
  sameText,
  staleTimestamp,
  str,
  strings,
} from "../parse.ts";
import type { Mapper, Verifier } from "../types.ts";

/** Resend's event types are the catalog's, but for a few names. */
export const RESEND_TYPES: Readonly<Record<string, EventTypeName>> = {
  "email.sent": "email.sent",
  "email.delivered": "email.delivered",
  "email.delivery_delayed": "email.delivery_delayed",
  "email.bounced": "email.bounced",
  "email.complained": "email.complained",
  "email.opened": "email.opened",
  "email.clicked": "email.clicked",
  "email.failed": "email.failed",
  "email.scheduled": "email.queued",
};

/**
 * Svix's scheme: `svix-signature` holds space-separated `v1,<base64>`
 * HMAC-SHA256s of `<svix-id>.<svix-timestamp>.<body>`, keyed with the
 * base64 after `whsec_` in the signing secret.
 */
export const verifyResend: Verifier = (request, verification, now) => {
  const id = request.headers["svix-id"];
  const timestamp = request.headers["svix-timestamp"];
  const signatures = request.headers["svix-signature"];
  if (!id || !timestamp || !signatures) return "missing svix-id, svix-timestamp or svix-signature";
  if (!verification.secret) return "the source has no secret";
  const stale = staleTimestamp(timestamp, now);
  if (stale) return stale;
  const key = Buffer.from(verification.secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${request.body}`).digest("base64");
  const match = signatures
    .split(" ")
    .some((entry) => entry.startsWith("v1,") && sameText(entry.slice(3), expected));
  return match ? null : "signature mismatch";
};

/** Resend's tags, a {name: value} object or [{name, value}] list, as `name:value` strings. */
function tagsOf(value: unknown): string[] | undefined {
  const pairs = Array.isArray(value)
    ? value.map((t) => [str(objectAt(t).name), str(objectAt(t).value)])
    : Object.entries(objectAt(value)).map(([name, v]) => [name, str(v)]);
  const tags = pairs.filter(([name, v]) => name && v).map(([name, v]) => `${name}:${v}`);
  return tags.length > 0 ? tags : undefined;
}

/** One event per request; the svix-id (kept across Resend's retries) is its id. */
export const mapResend: Mapper = (request) => {
  const body = asObject(parseJson(request.body), "the body");
  const data = asObject(body.data ?? {}, "data");
  const providerType = str(body.type) ?? "";
  const bounce = data.bounce ? objectAt(data.bounce) : null;
  const click = objectAt(data.click);
  const tags = tagsOf(data.tags);
  return [
    {
      type: RESEND_TYPES[providerType] ?? null,
      providerType,
      occurredAt: dateOf(body.created_at),
      data: compact({
        provider: "RESEND" as const,
        providerEventId: request.headers["svix-id"] ?? "",
        messageId: str(data.email_id),
        to: strings(data.to),
        from: str(data.from),
        subject: str(data.subject),
        tags,
        bounce: bounce
          ? compact({
              type: str(bounce.type) === "Permanent" ? ("hard" as const) : ("soft" as const),
              code: str(bounce.subType),
              reason: str(bounce.message),
            })
          : undefined,
        click: str(click.link) ? { url: str(click.link)! } : undefined,
        userAgent: str(click.userAgent),
        ip: str(click.ipAddress),
      }),
    },
  ];
};
