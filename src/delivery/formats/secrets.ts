import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { generateSecret } from "../signing.ts";
import { FORMATS } from "./index.ts";
import type { SecretKind, WebhookFormat } from "./types.ts";

const WHSEC_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Key sizes the Standard Webhooks libraries accept. */
const MIN_WHSEC_KEY_BYTES = 24;
const MAX_WHSEC_KEY_BYTES = 64;
export const MIN_HMAC_SECRET_CHARS = 16;
export const MAX_HMAC_SECRET_CHARS = 256;
const MAX_PEM_CHARS = 16_384;
const RSA_KEY_BITS = 2048;

export function secretKindOf(format: WebhookFormat): SecretKind {
  return FORMATS[format].secretKind;
}

/** A new secret for `format`: `whsec_<base64>` (also an HMAC format's key string), or an RSA key for Postal. */
export function newSecretFor(format: WebhookFormat): string {
  if (secretKindOf(format) !== "rsa") return generateSecret();
  return generateKeyPairSync("rsa", { modulusLength: RSA_KEY_BITS }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
}

/** Why `secret` cannot sign requests of `format`; undefined when it can. Never repeats the secret. */
export function invalidSecret(format: WebhookFormat, secret: string): string | undefined {
  const kind = secretKindOf(format);
  if (kind === "whsec") {
    const encoded = secret.startsWith(WHSEC_PREFIX) ? secret.slice(WHSEC_PREFIX.length) : null;
    const bytes = encoded !== null && BASE64.test(encoded) ? Buffer.from(encoded, "base64").length : 0;
    if (bytes < MIN_WHSEC_KEY_BYTES || bytes > MAX_WHSEC_KEY_BYTES)
      return `a ${format} secret is "whsec_" followed by the base64 of ${MIN_WHSEC_KEY_BYTES}–${MAX_WHSEC_KEY_BYTES} random bytes`;
    return undefined;
  }
  if (kind === "hmac") {
    if (secret.length < MIN_HMAC_SECRET_CHARS || secret.length > MAX_HMAC_SECRET_CHARS)
      return `a ${format} secret is ${MIN_HMAC_SECRET_CHARS}–${MAX_HMAC_SECRET_CHARS} characters long (this one has ${secret.length})`;
    return undefined;
  }
  return secret.length <= MAX_PEM_CHARS && isRsaPrivateKey(secret)
    ? undefined
    : `a ${format} secret is an RSA private key in PEM (as Postal's signing key is)`;
}

function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}
