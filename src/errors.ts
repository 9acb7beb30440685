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
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
  }
}

export const badInput = (message: string, field?: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});

export const notFound = (what: string, id: string) =>
  new AppError(ErrorCode.NOT_FOUND, `${what} ${id} not found`);

export const unauthenticated = (message = "a valid API key or token is required") =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);

export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);

/** HTTP answers carrying it get status 429 and `Retry-After` (yoga reads `extensions.http`, and strips it). */
export const rateLimited = (what: string, retryAfterSeconds: number) =>
  new AppError(ErrorCode.RATE_LIMITED, `too many ${what}; retry after ${retryAfterSeconds} s`, {
    retryAfterSeconds,
    http: { status: 429, headers: { "Retry-After": String(retryAfterSeconds) } },
  });
