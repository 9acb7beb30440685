import { createHmac, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  FORMATS,
  formatBody,
  formatOfSentHeaders,
  formatRequest,
} from "../../../src/delivery/formats/index.ts";
import { newSecretFor } from "../../../src/delivery/formats/secrets.ts";
import {
  currentSecret,
  hexHmac,
  rsaKeyId,
  rsaPublicKey,
  rsaSignature,
  timestampedHexSignature,
} from "../../../src/delivery/formats/signers.ts";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../../../src/delivery/formats/types.ts";
import { eventBody } from "../../../src/delivery/payload.ts";
import { generateSecret, signPayload } from "../../../src/delivery/signing.ts";

const occurredAt = "2026-03-01T12:00:00.000Z";
const data = {
  messageId: "msg_01JD5Q8Z3X",
  stream: "outbound",
  from: "Acme <hello@mail.acme.test>",
  to: ["ada@example.com"],
  subject: "Your receipt #1042",
  tags: ["receipt"],
  metadata: { orderId: "1042" },
  bounce: { type: "hard", code: "5.1.1", reason: "550 5.1.1 The email account does not exist" },
};
const bounced = { id: "evt_01JD5Q8Z3X7K2M4N6P8R0T2V4W", type: "email.bounced", occurredAt, payload: data };
const timestampS = 1_772_366_400;

/** The seeds' snippet (001, 004): hex HMAC-SHA256 with the secret's characters as key, compared in constant time. */
function seedVerify(payload: string, signature: string, secret: string): boolean {
  const expected = createHmac("sha256", secret).update(payload).digest("hex");
  return (
    signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
  );
}

function request(format: WebhookFormat, secrets: string[], event = bounced) {
  return formatRequest({ format, event, timestampS, secrets, userAgent: "Hookpost/9.9.9" });
}

describe("formatRequest", () => {
  it("STANDARD_WEBHOOKS is today's request, header for header and byte for byte", () => {
    const secret = generateSecret();
    const { headers, body } = request("STANDARD_WEBHOOKS", [secret]);
    expect(body).toBe(eventBody(bounced));
    expect(JSON.stringify(headers)).toBe(
      JSON.stringify({
        "content-type": "application/json",
        "user-agent": "Hookpost/9.9.9",
        "webhook-id": bounced.id,
        "webhook-timestamp": String(timestampS),
        "webhook-signature": signPayload({ msgId: bounced.id, timestampS, body, secrets: [secret] }),
        "x-hookpost-event": "email.bounced",
      }),
    );
  });

  it("every format carries webhook-id, the event id, and JSON", () => {
    for (const format of WEBHOOK_FORMATS) {
      const { headers, body } = request(format, [newSecretFor(format)]);
      expect(headers["webhook-id"]).toBe(bounced.id);
      expect(headers["content-type"]).toBe("application/json");
      expect(() => JSON.parse(body)).not.toThrow();
      expect(formatBody(format, bounced)).toBe(body);
    }
  });

  it("custom headers cannot replace any format's own headers", () => {
    for (const format of WEBHOOK_FORMATS) {
      const secrets = [newSecretFor(format)];
      const plain = request(format, secrets).headers;
      const custom = Object.fromEntries(Object.keys(plain).map((name) => [name.toUpperCase(), "forged"]));
      const { headers } = formatRequest({
        format,
        event: bounced,
        timestampS,
        secrets,
        userAgent: "Hookpost/9.9.9",
        custom,
      });
      expect(headers).toEqual(plain);
    }
  });

  it("POSTJECT: the flat body, its User-Agent, Standard Webhooks signatures alongside", () => {
    const secret = generateSecret();
    const nowS = Math.floor(Date.now() / 1000);
    const { headers, body } = formatRequest({
      format: "POSTJECT",
      event: bounced,
      timestampS: nowS,
      secrets: [secret],
      userAgent: "Hookpost/9.9.9",
    });
    expect(headers["user-agent"]).toBe("Postject-Webhook-Dispatcher/1.0");
    expect(JSON.parse(body)).toEqual({
      id: "msg_01JD5Q8Z3X",
      type: "bounced",
      to: "ada@example.com",
      subject: "Your receipt #1042",
      metadata: { orderId: "1042" },
      timestamp: occurredAt,
      bounce: data.bounce,
    });
    expect(Object.keys(JSON.parse(body)).slice(0, 6)).toEqual([
      "id",
      "type",
      "to",
      "subject",
      "metadata",
      "timestamp",
    ]);
    expect(() => new StandardWebhook(secret).verify(body, headers)).not.toThrow();
  });

  it("POSTSTACK: t=<unix>,v1=<hex> over timestamp.body, one v1 per valid secret", () => {
    const [current, previous] = ["poststack-secret-current", "poststack-secret-previous"];
    const { headers, body } = request("POSTSTACK", [current, previous]);
    expect(headers["user-agent"]).toBe("PostStack-Webhooks/1.0");
    expect(JSON.parse(body)).toEqual({ id: bounced.id, type: "email.bounced", timestamp: occurredAt, data });
    const parts = headers["x-poststack-signature"]!.split(",");
    expect(parts[0]).toBe(`t=${timestampS}`);
    const signatures = parts.slice(1).map((p) => p.replace(/^v1=/, ""));
    expect(signatures).toHaveLength(2);
    const payload = `${timestampS}.${body}`;
    expect(seedVerify(payload, signatures[0]!, current)).toBe(true);
    expect(seedVerify(payload, signatures[1]!, previous)).toBe(true);
    expect(seedVerify(payload.replace("hard", "soft"), signatures[0]!, current)).toBe(false);
  });

  it("POSTHAWK: sha256=<hex of the body> with the current secret, X-Posthawk-Event, its names", () => {
    const secret = "posthawk-secret-0123";
    const { headers, body } = request("POSTHAWK", [secret, "an-old-secret-0123456"]);
    expect(headers).toMatchObject({
      "user-agent": "Posthawk-Webhook/1.0",
      "x-posthawk-event": "bounce",
      "x-posthawk-signature": `sha256=${hexHmac(secret, body)}`,
    });
    expect(JSON.parse(body)).toMatchObject({ id: bounced.id, type: "bounce", timestamp: occurredAt, data });
  });

  it("POSTAL: its envelope and names, RSA signatures a public key verifies", () => {
    const key = newSecretFor("POSTAL");
    const { headers, body } = request("POSTAL", [key]);
    const parsed = JSON.parse(body);
    expect(Object.keys(parsed)).toEqual(["event", "timestamp", "payload", "uuid"]);
    expect(parsed.event).toBe("MessageBounced");
    expect(parsed.timestamp).toBe(Date.parse(occurredAt) / 1000);
    expect(parsed.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parsed.payload.original_message).toMatchObject({
      message_id: "msg_01JD5Q8Z3X",
      to: "ada@example.com",
    });
    expect(parsed.payload.bounce).toEqual(data.bounce);
    expect(headers["user-agent"]).toMatch(/^Postal\//);
    // As Postal's receivers do: the public key from its DNS record (base64 SPKI), wrapped in PEM.
    const publicKey = createPublicKey({
      key: Buffer.from(rsaPublicKey(key), "base64"),
      format: "der",
      type: "spki",
    });
    const sig = (name: string) => Buffer.from(headers[name]!, "base64");
    expect(verify("sha256", Buffer.from(body), publicKey, sig("x-postal-signature-256"))).toBe(true);
    expect(verify("sha1", Buffer.from(body), publicKey, sig("x-postal-signature"))).toBe(true);
    expect(verify("sha256", Buffer.from(`${body} `), publicKey, sig("x-postal-signature-256"))).toBe(false);
    expect(headers["x-postal-signature-kid"]).toBe(rsaKeyId(key));
    expect(formatBody("POSTAL", bounced)).toBe(body);
  });

  it("POSTAL: delivery events carry Postal's status fields", () => {
    const delivered = { ...bounced, type: "email.delivered", payload: { ...data, smtpResponse: "250 OK" } };
    const parsed = JSON.parse(formatBody("POSTAL", delivered));
    expect(parsed.event).toBe("MessageSent");
    expect(parsed.payload).toMatchObject({
      status: "Sent",
      output: "250 OK",
      message: { direction: "outgoing" },
    });
    expect(JSON.parse(formatBody("POSTAL", { ...bounced, type: "email.opened" })).event).toBe(
      "MessageLoaded",
    );
  });

  it("HMAC_SHA256_HEX: X-Webhook-Signature is the hex HMAC of the body, as seed 004's snippet checks", () => {
    const secret = "whsec_your_secret_key_here";
    const { headers, body } = request("HMAC_SHA256_HEX", [secret, "previous-secret-000000"]);
    expect(seedVerify(body, headers["x-webhook-signature"]!, secret)).toBe(true);
    expect(headers["user-agent"]).toBe("Hookpost/9.9.9");
    expect(JSON.parse(body)).toEqual({
      id: bounced.id,
      type: "email.bounce",
      timestamp: occurredAt,
      data,
      email_id: "msg_01JD5Q8Z3X",
      recipient: "ada@example.com",
    });
  });

  it("a logged request's headers tell the format it was sent in", () => {
    for (const format of WEBHOOK_FORMATS) {
      const { headers } = request(format, [newSecretFor(format)]);
      expect(formatOfSentHeaders(headers)).toBe(format);
    }
    // Attempts logged before formats existed were Standard Webhooks requests.
    expect(formatOfSentHeaders({ "webhook-signature": "v1,x", "user-agent": "Hookpost/0.1.0" })).toBe(
      "STANDARD_WEBHOOKS",
    );
  });

  it("the same event gives the same bytes on every attempt", () => {
    for (const format of WEBHOOK_FORMATS)
      expect(formatBody(format, bounced)).toBe(formatBody(format, { ...bounced }));
  });

  it("events without message data still format", () => {
    const dns = { id: "evt_2", type: "domain.dns_error", occurredAt, payload: { domain: "mail.acme.test" } };
    for (const format of Object.keys(FORMATS) as WebhookFormat[])
      expect(() => formatBody(format, dns)).not.toThrow();
    expect(JSON.parse(formatBody("POSTAL", dns))).toMatchObject({
      event: "DomainDNSError",
      payload: { domain: "mail.acme.test" },
    });
  });
});

describe("signers", () => {
  it("hexHmac uses the secret's characters as the key", () => {
    expect(hexHmac("key", "body")).toBe(
      createHmac("sha256", Buffer.from("key")).update("body").digest("hex"),
    );
  });
  it("timestampedHexSignature signs timestamp.body", () => {
    expect(timestampedHexSignature(5, "b", ["k"])).toBe(`t=5,v1=${hexHmac("k", "5.b")}`);
  });
  it("rsaSignature differs by hash and is deterministic (PKCS#1 v1.5)", () => {
    const key = newSecretFor("POSTAL");
    expect(rsaSignature(key, "b", "sha256")).toBe(rsaSignature(key, "b", "sha256"));
    expect(rsaSignature(key, "b", "sha1")).not.toBe(rsaSignature(key, "b", "sha256"));
  });
  it("currentSecret is the first and refuses none", () => {
    expect(currentSecret(["a", "b"])).toBe("a");
    expect(() => currentSecret([])).toThrow();
  });
});
