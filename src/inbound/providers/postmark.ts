import type { EventTypeName } from "../../services/eventTypes.ts";
import {
  asObject,
  compact,
  contentId,
  dateOf,
  objectAt,
  parseJson,
  sameText,
  str,
  strings,
} from "../parse.ts";
import type { Mapper, Verifier } from "../types.ts";

/** Postmark's RecordTypes; SubscriptionChange counts only when it suppresses sending. */
export const POSTMARK_TYPES: Readonly<Record<string, EventTypeName>> = {
  Delivery: "email.delivered",
  Bounce: "email.bounced",
  SpamComplaint: "email.complained",
  Open: "email.opened",
  Click: "email.clicked",
  SubscriptionChange: "email.unsubscribed",
};

/** Postmark's bounce Types that will not succeed on a retry. */
const HARD_BOUNCES = new Set(["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification"]);

/** Postmark sends the credentials put in the webhook URL's userinfo as HTTP basic auth. */
export const verifyPostmark: Verifier = (request, verification) => {
  if (!verification.username || !verification.password) return "the source has no username and password";
  const header = request.headers.authorization ?? "";
  if (!header.startsWith("Basic ")) return "missing basic-auth credentials";
  const given = Buffer.from(header.slice(6), "base64").toString("utf8");
  return sameText(given, `${verification.username}:${verification.password}`) ? null : "wrong credentials";
};

/** One record per request; Postmark sends no event id, so the body's bytes (the same on a retry) are its id. */
export const mapPostmark: Mapper = (request) => {
  const body = asObject(parseJson(request.body), "the body");
  const providerType = str(body.RecordType) ?? "";
  const unsubscribe = providerType !== "SubscriptionChange" || body.SuppressSending === true;
  const bounceType = str(body.Type) ?? "";
  return [
    {
      type: unsubscribe ? (POSTMARK_TYPES[providerType] ?? null) : null,
      providerType,
      occurredAt: dateOf(body.DeliveredAt ?? body.BouncedAt ?? body.ReceivedAt ?? body.ChangedAt),
      data: compact({
        provider: "POSTMARK" as const,
        providerEventId: str(body.ID) ?? contentId(request.body),
        messageId: str(body.MessageID),
        to: strings(body.Recipient ?? body.Email),
        from: str(body.From),
        subject: str(body.Subject),
        tags: strings(body.Tag),
        bounce:
          providerType === "Bounce"
            ? compact({
                type: HARD_BOUNCES.has(bounceType) ? ("hard" as const) : ("soft" as const),
                code: str(body.TypeCode),
                reason: str(body.Description) || str(body.Details),
              })
            : undefined,
        click: str(body.OriginalLink) ? { url: str(body.OriginalLink)! } : undefined,
        userAgent: str(body.UserAgent),
        ip: str(objectAt(body.Geo).IP),
      }),
    },
  ];
};
