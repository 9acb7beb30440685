import { eventBody } from "../payload.ts";
import { timestampedHexSignature } from "./signers.ts";
import type { FormatSpec } from "./types.ts";

/**
 * PostStack: the catalog's names and body; `X-PostStack-Signature:
 * t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, a v1 per valid secret.
 */
export const poststack: FormatSpec = {
  secretKind: "hmac",
  userAgent: "PostStack-Webhooks/1.0",
  body: (event) => eventBody(event),
  headers: (input) => ({
    "x-poststack-signature": timestampedHexSignature(input.timestampS, input.body, input.secrets),
  }),
};
