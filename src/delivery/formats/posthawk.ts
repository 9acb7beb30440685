import { eventBody } from "../payload.ts";
import { currentSecret, hexHmac } from "./signers.ts";
import type { FormatSpec } from "./types.ts";

/**
 * Posthawk: `{"id","type","timestamp","data"}` with its names (`bounce`,
 * `delivery` …); `X-Posthawk-Signature: sha256=<hex HMAC of the body>` holds
 * one signature, the current secret's; `X-Posthawk-Event: <name>`.
 */
export const posthawk: FormatSpec = {
  secretKind: "hmac",
  userAgent: "Posthawk-Webhook/1.0",
  body: (event, eventName) => eventBody({ ...event, type: eventName }),
  headers: (input) => ({
    "x-posthawk-signature": `sha256=${hexHmac(currentSecret(input.secrets), input.body)}`,
    "x-posthawk-event": input.eventName,
  }),
};
