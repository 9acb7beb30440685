import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { formatRequest } from "../../../src/delivery/formats/index.ts";
import { generateSecret, signPayload } from "../../../src/delivery/signing.ts";

const body = JSON.stringify({ id: "evt_1", type: "email.sent", data: { to: "ana@example.com" } });
const msgId = "evt_01HZX3Y4Q5R6S7T8V9W0XYZABC";
const nowS = () => Math.floor(Date.now() / 1000);

function headersFor(secrets: string[], payload = body) {
  const timestampS = nowS();
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestampS),
    "webhook-signature": signPayload({ msgId, timestampS, body: payload, secrets }),
  };
}

describe("generateSecret", () => {
  it("is whsec_ + base64 of 24 random bytes", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice("whsec_".length), "base64")).toHaveLength(24);
    expect(generateSecret()).not.toBe(secret);
  });
});

describe("signPayload", () => {
  it("verifies with the standardwebhooks and svix libraries", () => {
    const secret = generateSecret();
    const headers = headersFor([secret]);
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new SvixWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("signs with every secret during a rotation, each verifying on its own", () => {
    const previous = generateSecret();
    const current = generateSecret();
    const headers = headersFor([current, previous]);
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const secret of [previous, current]) {
      expect(() => new StandardWebhook(secret).verify(body, headers)).not.toThrow();
      expect(() => new SvixWebhook(secret).verify(body, headers)).not.toThrow();
    }
    expect(() => new StandardWebhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it("fails verification when the body is tampered with", () => {
    const secret = generateSecret();
    const headers = headersFor([secret]);
    const tampered = body.replace("ana@", "eve@");
    expect(() => new StandardWebhook(secret).verify(tampered, headers)).toThrow();
    expect(() => new SvixWebhook(secret).verify(tampered, headers)).toThrow();
  });

  it("is deterministic for the same input", () => {
    const input = { msgId, timestampS: 1_700_000_000, body, secrets: [generateSecret()] };
    expect(signPayload(input)).toBe(signPayload(input));
    expect(signPayload(input)).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });
});

describe("formatRequest in Standard Webhooks", () => {
  it("sends custom headers but never lets them override ours", () => {
    const { headers } = formatRequest({
      format: "STANDARD_WEBHOOKS",
      event: { id: msgId, type: "email.bounced", occurredAt: new Date(0), payload: {} },
      timestampS: 1_700_000_000,
      secrets: [generateSecret()],
      userAgent: "Hookpost/1.0.0",
      custom: { "X-Tenant": "acme", "Content-Type": "text/plain", "webhook-id": "forged" },
    });
    expect(headers).toMatchObject({
      "x-tenant": "acme",
      "content-type": "application/json",
      "user-agent": "Hookpost/1.0.0",
      "webhook-id": msgId,
      "webhook-timestamp": "1700000000",
      "x-hookpost-event": "email.bounced",
    });
    expect(Object.keys(headers).every((name) => name === name.toLowerCase())).toBe(true);
  });
});
