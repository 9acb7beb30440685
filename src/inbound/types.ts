import type { InboundProvider } from "../db/generated/client.ts";
import type { EventTypeName } from "../services/eventTypes.ts";
import type { SnsClient } from "./snsClient.ts";

/** What verifies a source's requests; which fields a provider needs is in its verifier. Never returned by the API. */
export type InboundVerification = {
  secret?: string | null;
  publicKey?: string | null;
  username?: string | null;
  password?: string | null;
  /** AMAZON_SES: the SNS topic whose messages the source accepts. */
  topicArn?: string | null;
};

/** The request as received: the raw body (signatures cover its exact bytes) and lower-cased headers. */
export type InboundRequest = {
  body: string;
  headers: Readonly<Record<string, string | undefined>>;
};

/** The common fields every normalised event's data may carry (absent ones are left out). */
export type InboundEventData = {
  provider: InboundProvider;
  providerEventId: string;
  messageId?: string;
  to?: string[];
  from?: string;
  subject?: string;
  tags?: string[];
  bounce?: { type: "hard" | "soft"; code?: string; reason?: string };
  click?: { url: string };
  /** The receiving server's SMTP answer (a delivery, a delay). */
  smtpResponse?: string;
  /** Why the provider rejected or failed the message (not a bounce: that is bounce.reason). */
  reason?: string;
  userAgent?: string;
  ip?: string;
};

/** One provider event, mapped: `type` is null when the catalog has no name for it (logged as IGNORED). */
export type MappedEvent = {
  type: EventTypeName | null;
  providerType: string;
  occurredAt: Date | null;
  data: InboundEventData;
};

/** What verifying or answering a request may need beyond the request itself. */
export type InboundTools = { sns: SnsClient };

/** Verifies a request; returns why it is refused, or null when it is genuine. */
export type Verifier = (
  request: InboundRequest,
  verification: InboundVerification,
  now: Date,
) => string | null;

/** A Verifier that must fetch something first; throws InboundUnavailableError when it cannot tell yet. */
export type FetchingVerifier = (
  request: InboundRequest,
  verification: InboundVerification,
  now: Date,
  tools: InboundTools,
) => Promise<string | null>;

/**
 * A verified request that is no event but a step of the provider's own
 * protocol (SNS's SubscriptionConfirmation): does what it asks and returns
 * what the log records; null when the request is events.
 */
export type Handshake = (request: InboundRequest, tools: InboundTools) => Promise<string | null>;

/** Maps a verified body to its events; throws InboundBodyError when the body is not what the provider sends. */
export type Mapper = (request: InboundRequest) => MappedEvent[];

export class InboundBodyError extends Error {}

/** A verification or handshake could not complete for now: answered 503, so the provider retries. */
export class InboundUnavailableError extends Error {}

/** How far a signed timestamp may be from now, either way (replay protection). */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
