import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { Webhook } from "svix";

/** Signs requests the way each provider does, for tests. Timestamps are Unix seconds. */

export const genericHeaders = (body: string, secret: string) => ({
  "x-webhook-signature": createHmac("sha256", secret).update(body).digest("hex"),
});

/** Resend signs through Svix: the svix package's own signer. */
export function resendHeaders(body: string, secret: string, id: string, at = new Date()) {
  return {
    "svix-id": id,
    "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
    "svix-signature": new Webhook(secret).sign(id, at, body),
  };
}

export function mailgunSignature(
  signingKey: string,
  at = new Date(),
  token = "a8ce0edb2dd8301dcc9d6bc6ca8ac6ba1b0ef5b8b1f9a5c0f6",
) {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return {
    timestamp,
    token,
    signature: createHmac("sha256", signingKey)
      .update(timestamp + token)
      .digest("hex"),
  };
}

export const postmarkHeaders = (username: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
});

/** A P-256 key pair; the public key as SendGrid shows it (base64 DER). */
export function sendgridKeys() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKey: publicKey.export({ format: "der", type: "spki" }).toString("base64") };
}

export function sendgridHeaders(
  body: string,
  privateKey: ReturnType<typeof sendgridKeys>["privateKey"],
  at = new Date(),
) {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return {
    "x-twilio-email-event-webhook-signature": sign(
      "sha256",
      Buffer.from(timestamp + body),
      privateKey,
    ).toString("base64"),
    "x-twilio-email-event-webhook-timestamp": timestamp,
  };
}
