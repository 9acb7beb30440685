import { createHash, createHmac, createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";

/** One small function per signature scheme; Standard Webhooks' is signPayload in ../signing.ts. */

/** Hex HMAC-SHA256 of `content`, the secret's characters as key bytes (as Posthawk's and PostStack's snippets do). */
export function hexHmac(secret: string, content: string): string {
  return createHmac("sha256", secret).update(content).digest("hex");
}

/** PostStack: `t=<unix>,v1=<hex HMAC of "t.body">`, one v1 per valid secret (as Stripe-style headers do). */
export function timestampedHexSignature(
  timestampS: number,
  body: string,
  secrets: readonly string[],
): string {
  const content = `${timestampS}.${body}`;
  return [`t=${timestampS}`, ...secrets.map((secret) => `v1=${hexHmac(secret, content)}`)].join(",");
}

type ParsedRsaKey = { privateKey: KeyObject; publicKey: string; keyId: string };

/** Parsed keys by PEM: parsing one costs more than a signature, and every request of an endpoint uses the same. */
const parsedRsaKeys = new Map<string, ParsedRsaKey>();
const MAX_PARSED_RSA_KEYS = 1_000;

function parsedRsaKey(privateKeyPem: string): ParsedRsaKey {
  let parsed = parsedRsaKeys.get(privateKeyPem);
  if (!parsed) {
    const privateKey = createPrivateKey(privateKeyPem);
    const der = createPublicKey(privateKey).export({ type: "spki", format: "der" });
    parsed = {
      privateKey,
      publicKey: der.toString("base64"),
      keyId: createHash("sha256").update(der).digest("hex"),
    };
    if (parsedRsaKeys.size >= MAX_PARSED_RSA_KEYS) parsedRsaKeys.clear();
    parsedRsaKeys.set(privateKeyPem, parsed);
  }
  return parsed;
}

/** Postal: base64 RSA PKCS#1 v1.5 signature of the body with the private key (SHA-1 legacy, SHA-256 current). */
export function rsaSignature(privateKeyPem: string, body: string, hash: "sha1" | "sha256"): string {
  return sign(hash, Buffer.from(body), parsedRsaKey(privateKeyPem).privateKey).toString("base64");
}

/** The public key of a PEM private key, as Postal publishes it in DNS: base64 of its SPKI DER. */
export function rsaPublicKey(privateKeyPem: string): string {
  return parsedRsaKey(privateKeyPem).publicKey;
}

/** Postal's key id: hex SHA-256 of the public key's DER bytes. */
export function rsaKeyId(privateKeyPem: string): string {
  return parsedRsaKey(privateKeyPem).keyId;
}

/** Formats with room for one signature sign with the newest secret. */
export function currentSecret(secrets: readonly string[]): string {
  const [current] = secrets;
  if (current === undefined) throw new Error("signing needs at least one secret");
  return current;
}
