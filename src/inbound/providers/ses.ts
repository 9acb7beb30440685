import { verify, type X509Certificate } from "node:crypto";
import type { EventTypeName } from "../../services/eventTypes.ts";
import { asObject, compact, dateOf, type Json, objectAt, parseJson, str, strings } from "../parse.ts";
import {
  type FetchingVerifier,
  type Handshake,
  InboundBodyError,
  type InboundEventData,
  type Mapper,
  TIMESTAMP_TOLERANCE_SECONDS,
} from "../types.ts";

/** SES event types (`eventType` with event publishing, `notificationType` without) and the catalog's names. */
export const SES_TYPES: Readonly<Record<string, EventTypeName>> = {
  Send: "email.sent",
  Delivery: "email.delivered",
  DeliveryDelay: "email.delivery_delayed",
  Bounce: "email.bounced",
  Complaint: "email.complained",
  Reject: "email.rejected",
  "Rendering Failure": "email.failed",
  Open: "email.opened",
  Click: "email.clicked",
  Subscription: "email.unsubscribed",
};

/** The object of an SES event that holds its type's own fields. */
const DETAIL_KEYS: Readonly<Record<string, string>> = {
  Send: "send",
  Delivery: "delivery",
  DeliveryDelay: "deliveryDelay",
  Bounce: "bounce",
  Complaint: "complaint",
  Reject: "reject",
  "Rendering Failure": "failure",
  Open: "open",
  Click: "click",
  Subscription: "subscription",
};

/** The list of recipients an event concerns, where it names some of the message's. */
const RECIPIENT_LISTS: Readonly<Record<string, string>> = {
  Bounce: "bouncedRecipients",
  Complaint: "complainedRecipients",
  DeliveryDelay: "delayedRecipients",
};

/** An SNS message as posted: a JSON object whose fields are strings. */
export type SnsMessage = Readonly<Record<string, string | undefined>>;

export function parseSnsMessage(body: string): SnsMessage {
  const object = asObject(parseJson(body), "the body");
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, str(value)]));
}

/**
 * The fields SNS signs, per message Type, in byte order; Subject only when the
 * message has one. (AWS: "Verifying the signatures of Amazon SNS messages".)
 */
const SIGNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: [
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
  ],
  UnsubscribeConfirmation: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
};

/** The string SNS signs: each field's name and value, each followed by a newline; null when one is missing. */
export function snsStringToSign(message: SnsMessage): string | null {
  const fields = SIGNED_FIELDS[message.Type ?? ""];
  if (!fields) return null;
  let text = "";
  for (const field of fields) {
    const value = message[field];
    if (value === undefined) {
      if (field === "Subject") continue;
      return null;
    }
    text += `${field}\n${value}\n`;
  }
  return text;
}

/** SignatureVersion 1 is RSA with SHA1, 2 RSA with SHA256. */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = { "1": "sha1", "2": "sha256" };

/** True when the message's Signature is its string to sign, signed with the certificate's key. */
export function snsSignatureValid(message: SnsMessage, certificate: X509Certificate): boolean {
  const hash = SIGNATURE_HASHES[message.SignatureVersion ?? ""];
  const text = snsStringToSign(message);
  if (!hash || text === null || !message.Signature) return false;
  try {
    return verify(hash, Buffer.from(text), certificate.publicKey, Buffer.from(message.Signature, "base64"));
  } catch {
    return false;
  }
}

/**
 * How old a message's Timestamp (when it was published) may be: SNS retries
 * an HTTP delivery for at most an hour, plus the usual clock tolerance.
 */
export const SNS_MAX_AGE_S = 3_600 + TIMESTAMP_TOLERANCE_SECONDS;

/** Null when the message was published within SNS_MAX_AGE_S (and not from the future), else why not. */
export function staleSnsTimestamp(timestamp: string | undefined, now: Date): string | null {
  const at = dateOf(timestamp);
  if (!at) return "missing or unreadable Timestamp";
  const ageS = (now.getTime() - at.getTime()) / 1_000;
  return ageS > SNS_MAX_AGE_S || ageS < -TIMESTAMP_TOLERANCE_SECONDS
    ? `Timestamp outside the ${SNS_MAX_AGE_S} s SNS retry window`
    : null;
}

const certificateCurrent = (certificate: X509Certificate, now: Date) =>
  new Date(certificate.validFrom) <= now && now <= new Date(certificate.validTo);

/**
 * SNS message signatures: the topic must be the source's, the Timestamp
 * recent, the SigningCertURL an allowed SNS host's, and the Signature the
 * string to sign signed with that certificate's key.
 */
export const verifySes: FetchingVerifier = async (request, verification, now, tools) => {
  let message: SnsMessage;
  try {
    message = parseSnsMessage(request.body);
  } catch (err) {
    if (err instanceof InboundBodyError) return `not an SNS message: ${err.message}`;
    throw err;
  }
  if (!verification.topicArn) return "the source has no topicArn";
  if (message.TopicArn !== verification.topicArn)
    return `unexpected TopicArn ${message.TopicArn ?? "(none)"}`;
  const stale = staleSnsTimestamp(message.Timestamp, now);
  if (stale) return stale;
  if (!SIGNATURE_HASHES[message.SignatureVersion ?? ""])
    return `unsupported SignatureVersion ${message.SignatureVersion ?? "(none)"}`;
  if (snsStringToSign(message) === null) return `a field SNS signs is missing for Type ${message.Type}`;
  const certUrl = message.SigningCertURL ?? "";
  const refusal = tools.sns.urlRefusal(certUrl);
  if (refusal) return `SigningCertURL: ${refusal}`;
  const certificate = await tools.sns.certificate(certUrl);
  if (!certificateCurrent(certificate, now)) return "the signing certificate is expired or not yet valid";
  return snsSignatureValid(message, certificate) ? null : "signature mismatch";
};

/** Confirms a SubscriptionConfirmation by a GET of its SubscribeURL; an UnsubscribeConfirmation only logs. */
export const sesHandshake: Handshake = async (request, tools) => {
  const message = parseSnsMessage(request.body);
  if (message.Type === "UnsubscribeConfirmation") return `unsubscribed from ${message.TopicArn}`;
  if (message.Type !== "SubscriptionConfirmation") return null;
  const url = message.SubscribeURL ?? "";
  const refusal = tools.sns.urlRefusal(url);
  if (refusal) throw new InboundBodyError(`SubscribeURL: ${refusal}`);
  await tools.sns.confirmSubscription(url);
  return `subscription to ${message.TopicArn} confirmed`;
};

/** The message's own tags (SES's automatic `ses:` ones left out), as `name:value` strings. */
function tagsOf(value: unknown): string[] | undefined {
  const tags = Object.entries(objectAt(value))
    .filter(([name]) => !name.startsWith("ses:"))
    .flatMap(([name, values]) => (strings(values) ?? []).map((v) => `${name}:${v}`));
  return tags.length > 0 ? tags : undefined;
}

function recipientsOf(providerType: string, detail: Json): string[] | undefined {
  if (providerType === "Delivery") return strings(detail.recipients);
  const list = detail[RECIPIENT_LISTS[providerType] ?? ""];
  return Array.isArray(list) ? strings(list.map((r) => objectAt(r).emailAddress)) : undefined;
}

/** The first of a list of recipient objects ({emailAddress, status, diagnosticCode}), its fields as text. */
function firstRecipient(list: unknown): { status?: string; diagnosticCode?: string } {
  const first = objectAt(Array.isArray(list) ? list[0] : undefined);
  return { status: str(first.status), diagnosticCode: str(first.diagnosticCode) };
}

function bounceOf(bounce: Json): InboundEventData["bounce"] {
  const first = firstRecipient(bounce.bouncedRecipients);
  return compact({
    type: str(bounce.bounceType) === "Permanent" ? ("hard" as const) : ("soft" as const),
    code: first.status,
    reason: first.diagnosticCode ?? str(bounce.bounceSubType),
  });
}

/** One SES event per Notification, in its Message; the SNS MessageId (kept across SNS's retries) is its id. */
export const mapSes: Mapper = (request) => {
  const message = parseSnsMessage(request.body);
  if (message.Type !== "Notification") return [];
  let event: Json;
  try {
    event = asObject(JSON.parse(message.Message ?? ""), "Message");
  } catch {
    event = {};
  }
  const providerType = str(event.eventType) ?? str(event.notificationType) ?? "(no SES event)";
  const mail = objectAt(event.mail);
  const headers = objectAt(mail.commonHeaders);
  const detail = objectAt(event[DETAIL_KEYS[providerType] ?? ""]);
  // A subscription event counts only when the recipient left every topic.
  const unsubscribed =
    providerType !== "Subscription" || objectAt(detail.newTopicPreferences).unsubscribeAll === true;
  return [
    {
      type: unsubscribed ? (SES_TYPES[providerType] ?? null) : null,
      providerType,
      occurredAt: dateOf(detail.timestamp) ?? dateOf(mail.timestamp),
      data: compact({
        provider: "AMAZON_SES" as const,
        providerEventId: message.MessageId ?? "",
        messageId: str(mail.messageId),
        to: recipientsOf(providerType, detail) ?? strings(mail.destination),
        from: strings(headers.from)?.[0] ?? str(mail.source),
        subject: str(headers.subject),
        tags: tagsOf(mail.tags),
        bounce: providerType === "Bounce" ? bounceOf(detail) : undefined,
        click: str(detail.link) ? { url: str(detail.link)! } : undefined,
        smtpResponse: str(detail.smtpResponse) ?? firstRecipient(detail.delayedRecipients).diagnosticCode,
        reason: str(detail.reason) ?? str(detail.errorMessage),
        userAgent: str(detail.userAgent),
        ip: str(detail.ipAddress),
      }),
    },
  ];
};
