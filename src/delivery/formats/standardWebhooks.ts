import { eventBody } from "../payload.ts";
import { signPayload } from "../signing.ts";
import type { FormatSpec } from "./types.ts";

/** Hookpost's own format (https://www.standardwebhooks.com): `{"id","type","timestamp","data"}`, `v1,<base64>` signatures. */
export const standardWebhooks: FormatSpec = {
  secretKind: "whsec",
  userAgent: null,
  body: (event) => eventBody(event),
  headers: (input) => ({
    "webhook-timestamp": String(input.timestampS),
    "webhook-signature": signPayload(input),
  }),
};
