import type { InboundProvider } from "../db/generated/client.ts";
import type { EventTypeName } from "../services/eventTypes.ts";

/** What verifies a source's requests; which fields a provider needs is in its verifier. Never returned by the API. */
export type InboundVerification = {
  secret?: string | null;
  publicKey?: string | null;
  username?: string | null;
  password?: string | null;
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

/** Verifies a request; returns why it is refused, or null when it is genuine. */
export type Verifier = (
  request: InboundRequest,
  verification: InboundVerification,
  now: Date,
) => string | null;

/** Maps a verified body to its events; throws InboundBodyError when the body is not what the provider sends. */
export type Mapper = (request: InboundRequest) => MappedEvent[];

export class InboundBodyError extends Error {}

/** How far a signed timestamp may be from now, either way (replay protection). */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
