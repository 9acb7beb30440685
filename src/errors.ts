import { GraphQLError } from "graphql";

/**
 * Expected failures, shown to API clients as GraphQL errors with
 * `extensions.code`. Anything else is masked by the server as an internal error.
 */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  RATE_LIMITED: "RATE_LIMITED",
  /** A retryable outage (PostgreSQL or Redis unreachable); carries retryAfterSeconds. */
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(cutMessage(message), { extensions: { code, ...extra } });
  }
}

/** Longest error message sent back: some (graphql-js's among them) quote the whole value they refuse. */
const MAX_MESSAGE_CHARS = 300;
const KEPT_TAIL_CHARS = 100;

/** A message cut to its start and its end (where graphql-js says why, after the value it quotes). */
export const cutMessage = (message: string) =>
  message.length > MAX_MESSAGE_CHARS
    ? `${message.slice(0, MAX_MESSAGE_CHARS - KEPT_TAIL_CHARS)}…${message.slice(-KEPT_TAIL_CHARS)}`
    : message;

export const badInput = (message: string, field?: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});

export const notFound = (what: string, id: string) =>
  new AppError(ErrorCode.NOT_FOUND, `${what} ${quote(id)} not found`);

export const unauthenticated = (message = "a valid API key or token is required") =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);

export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);

/** HTTP answers carrying it get status 429 and `Retry-After` (yoga reads `extensions.http`, and strips it). */
export const rateLimited = (what: string, retryAfterSeconds: number) =>
  new AppError(ErrorCode.RATE_LIMITED, `too many ${what}; retry after ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    http: { status: 429, headers: { "Retry-After": String(retryAfterSeconds) } },
  });

export const serviceUnavailable = (retryAfterSeconds: number) =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, "a service Hookpost depends on is unavailable; retry later", {
    retryAfterSeconds,
  });

const QUOTED_CHARS = 64;

/** A client's value for an error message: quoted, and cut to a short prefix so a huge input is not echoed back. */
export function quote(value: string): string {
  return JSON.stringify(value.length > QUOTED_CHARS ? `${value.slice(0, QUOTED_CHARS)}…` : value);
}
