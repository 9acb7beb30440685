import { createHmac, randomBytes } from "node:crypto";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), so receivers can
 * verify with the public `standardwebhooks` or `svix` libraries.
 */

const SECRET_PREFIX = "whsec_";

/** A new endpoint secret: `whsec_` + base64 of 24 random bytes (192-bit key). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString("base64");
}

/**
 * Value of the `webhook-signature` header: one `v1,<base64 HMAC-SHA256>` per
 * secret, space-separated, so during a rotation's grace period a receiver
 * holding either the old or the new secret can verify.
 */
export function signPayload(input: {
  msgId: string;
  timestampS: number;
  body: string;
  secrets: readonly string[];
}): string {
  if (input.secrets.length === 0) throw new Error("signPayload needs at least one secret");
  const signedContent = `${input.msgId}.${input.timestampS}.${input.body}`;
  return input.secrets
    .map((secret) => `v1,${createHmac("sha256", secretKey(secret)).update(signedContent).digest("base64")}`)
    .join(" ");
}

/** The HMAC key is the base64 part of the secret, decoded (as the Standard Webhooks libraries do). */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, "base64");
}
