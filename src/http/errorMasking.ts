import { randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import { cutMessage, ErrorCode, serviceUnavailable } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { requestIdOfError } from "./requestIds.ts";

/** What a client is told to wait before retrying after an outage. */
const OUTAGE_RETRY_AFTER_S = 5;

/**
 * yoga's maskError: every error leaves with an `extensions.code`.
 * - Errors the client caused (GraphQL errors all the way down: parse,
 *   validation, variable coercion, limits, the services' own) keep their code,
 *   or get BAD_USER_INPUT; long messages are cut.
 * - PostgreSQL or Redis unreachable: SERVICE_UNAVAILABLE with
 *   retryAfterSeconds (HTTP 503 and Retry-After), logged with its cause.
 * - Anything else: logged with its stack and the request's id
 *   (src/http/requestIds.ts), and shown only as INTERNAL_SERVER_ERROR with that id.
 */
export function maskErrorFor(logger: Logger) {
  return (error: unknown, message: string): Error => {
    if (isClientError(error)) return clientError(error);
    const requestId = requestIdOfError(error) ?? randomUUID();
    const cause = causeOf(error);
    const located = error instanceof GraphQLError ? error : null;
    if (isOutage(cause)) {
      logger.error({ err: cause, requestId, path: located?.path }, "a dependency is unavailable");
      const unavailable = serviceUnavailable(OUTAGE_RETRY_AFTER_S);
      return new GraphQLError(unavailable.message, {
        nodes: located?.nodes,
        path: located?.path,
        extensions: {
          ...unavailable.extensions,
          requestId,
          http: { status: 503, headers: { "retry-after": String(OUTAGE_RETRY_AFTER_S) } },
        },
      });
    }
    logger.error({ err: cause, requestId, path: located?.path }, "unexpected error");
    return new GraphQLError(message, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: "INTERNAL_SERVER_ERROR", requestId },
    });
  };
}

/** A GraphQL error that wraps nothing else (or only other GraphQL errors): one the request itself caused. */
function isClientError(error: unknown): error is GraphQLError {
  let current = error;
  while (current instanceof GraphQLError) {
    if (!current.originalError) return true;
    current = current.originalError;
  }
  return false;
}

function clientError(error: GraphQLError): GraphQLError {
  const coded = typeof error.extensions.code === "string";
  const message = cutMessage(error.message);
  if (coded && message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: coded ? error.extensions.code : ErrorCode.BAD_USER_INPUT },
  });
}

/** The error a GraphQL error wraps (a resolver's throw), or the error itself. */
function causeOf(error: unknown): unknown {
  return error instanceof GraphQLError && error.originalError ? error.originalError : error;
}

/** Prisma's codes for a database it cannot reach, lost, timed out on, or whose pool had no connection. */
const PRISMA_OUTAGE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/** Driver and client messages of a lost or refused connection (pg, ioredis with its offline queue off). */
const OUTAGE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Connection is closed|enableOfflineQueue|Reached the max retries per request|Can't reach database server/i;

/** Whether the error, or one it was caused by, says PostgreSQL or Redis cannot be reached. */
export function isOutage(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (PRISMA_OUTAGE_CODES.has(code) || SOCKET_CODES.has(code))) return true;
    // SQLSTATE class 08 (connection exception), 57P01–57P03 (shutting down, cannot connect now).
    if (typeof code === "string" && /^(08...|57P0[1-3])$/.test(code)) return true;
    if (current.name === "MaxRetriesPerRequestError" || OUTAGE_MESSAGE.test(current.message)) return true;
    current = current.cause ?? (current as { originalError?: unknown }).originalError;
  }
  return false;
}
