import { randomUUID } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "../logger.ts";

/** The header a request id comes in and goes back in. */
const REQUEST_ID_HEADER = "x-request-id";

/** A caller's id is kept if it looks like one: short, and nothing that could forge a log line. */
const ACCEPTED_ID = /^[\w.:-]{1,128}$/;

const idsByRequest = new WeakMap<Request, string>();
/** The request id of each error an operation returned, for error masking (src/http/errorMasking.ts). */
const idsByError = new WeakMap<object, string>();

/** The request id an error of a GraphQL result was tagged with, if any. */
export function requestIdOfError(error: unknown): string | undefined {
  return typeof error === "object" && error !== null ? idsByError.get(error) : undefined;
}

/**
 * A request id per GraphQL request over HTTP: the caller's `x-request-id` if
 * it sent a usable one, a new UUID otherwise; answered in `x-request-id`,
 * logged with the request (debug) and with any unexpected error it met.
 */
export function useRequestIds(logger: Logger): Plugin {
  return {
    onRequest({ request }) {
      const given = request.headers.get(REQUEST_ID_HEADER);
      idsByRequest.set(request, given && ACCEPTED_ID.test(given) ? given : randomUUID());
    },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const requestId = request && idsByRequest.get(request);
      if (!requestId) return;
      return {
        onExecuteDone({ result }) {
          if (!("errors" in result) || !result.errors) return;
          // Runs before yoga masks the errors, which is when they are logged.
          for (const error of result.errors) {
            idsByError.set(error, requestId);
            if (error.originalError) idsByError.set(error.originalError, requestId);
          }
        },
      };
    },
    onResponse({ request, response }) {
      const requestId = idsByRequest.get(request);
      if (!requestId) return;
      response.headers.set(REQUEST_ID_HEADER, requestId);
      if (logger.isLevelEnabled("debug")) {
        logger.debug({ requestId, method: request.method, status: response.status }, "graphql request");
      }
    },
  };
}
