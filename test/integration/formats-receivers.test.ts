import { createHmac, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateFormattedEndpointDocument,
  EventTypeNamesDocument,
  PublishEventDocument,
  PublishEventsDocument,
  ReplayDeliveryDocument,
  RotateEndpointSecretToDocument,
  TestEndpointDocument,
  UpdateEndpointFormatDocument,
  type WebhookFormat,
} from "../generated/graphql.ts";
import { deliveryOf, waitForDeliveryStatus } from "../support/deliveries.ts";
import { firstAttemptPerEvent, requestsFor } from "../support/eventRequests.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type ReceivedRequest, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

/** The key a receiver holds: an HMAC/whsec secret, or Postal's public key. */
type ReceiverKey = { secret: string; publicKey: string | null };

const header = (req: ReceivedRequest, name: string) => String(req.headers[name] ?? "");

/** Seeds 001 and 004's snippet, as their users paste it. */
function verifyWebhook(payload: string, signature: string, secret: string): boolean {
  const expected = createHmac("sha256", secret).update(payload).digest("hex");
  return (
    signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected))
  );
}

const MAX_AGE_S = 300;

/** Whether a receiver built from each platform's document accepts the request. */
const VERIFY: Record<WebhookFormat, (req: ReceivedRequest, key: ReceiverKey) => boolean> = {
  STANDARD_WEBHOOKS: (req, { secret }) => standardWebhooksAccepts(req, secret),
  // Postject signs nothing; the Standard Webhooks headers that ride along verify.
  POSTJECT: (req, { secret }) =>
    header(req, "user-agent") === "Postject-Webhook-Dispatcher/1.0" && standardWebhooksAccepts(req, secret),
  POSTSTACK(req, { secret }) {
    const fields = header(req, "x-poststack-signature").split(",");
    const t = fields.find((f) => f.startsWith("t="))?.slice(2) ?? "";
    if (Math.abs(Date.now() / 1_000 - Number(t)) > MAX_AGE_S) return false;
    return fields
      .filter((f) => f.startsWith("v1="))
      .some((f) => verifyWebhook(`${t}.${req.body}`, f.slice(3), secret));
  },
  POSTHAWK(req, { secret }) {
    const digest = createHmac("sha256", secret).update(req.body).digest("hex");
    return (
      header(req, "x-posthawk-signature") === `sha256=${digest}` &&
      header(req, "user-agent") === "Posthawk-Webhook/1.0"
    );
  },
  POSTAL(req, { publicKey }) {
    const key = createPublicKey({ key: Buffer.from(publicKey ?? "", "base64"), format: "der", type: "spki" });
    return verify(
      "sha256",
      Buffer.from(req.body),
      key,
      Buffer.from(header(req, "x-postal-signature-256"), "base64"),
    );
  },
  HMAC_SHA256_HEX: (req, { secret }) => verifyWebhook(req.body, header(req, "x-webhook-signature"), secret),
};

function standardWebhooksAccepts(req: ReceivedRequest, secret: string): boolean {
  try {
    new StandardWebhook(secret).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/** The event name a receiver reads, from the body laid out as each document shows. */
const EVENT_NAME: Record<WebhookFormat, (body: Record<string, unknown>) => unknown> = {
  STANDARD_WEBHOOKS: (b) => b.type,
  POSTJECT: (b) => b.type,
  POSTSTACK: (b) => b.type,
  POSTHAWK: (b) => b.type,
  POSTAL: (b) => b.event,
  HMAC_SHA256_HEX: (b) => b.type,
};

type Case = {
  format: WebhookFormat;
  /** Filters as that platform's users write them, and the catalog names they are stored as. */
  filters: string[];
  stored: string[];
  /** The bounce as publishers coming from that platform name it, and as its receivers read it. */
  publishAs: string;
  name: string;
  /** Secrets the user brings (created with, rotated to); none: Hookpost makes them. */
  secret?: string;
  rotateTo?: string;
  /** Whether a rotation's grace period sends the old secret's signature too. */
  bothDuringGrace: boolean;
  /** What else of the body the platform's receivers rely on. */
  layout: (body: Record<string, unknown>, req: ReceivedRequest) => void;
};

const DATA = {
  messageId: "msg_01hy4z9k2m",
  to: ["user@example.com"],
  from: "Acme <hello@mail.acme.test>",
  subject: "Welcome aboard!",
  metadata: { plan: "pro" },
  tags: ["welcome"],
  bounce: { type: "hard", code: "5.1.1", reason: "550 5.1.1 user unknown" },
};

const CASES: Case[] = [
  {
    format: "POSTJECT",
    filters: ["delivered", "bounced", "complained"],
    stored: ["email.delivered", "email.bounced", "email.complained"],
    publishAs: "bounced",
    name: "bounced",
    bothDuringGrace: true,
    layout(body) {
      expect(body).toMatchObject({
        id: "msg_01hy4z9k2m",
        to: "user@example.com",
        subject: "Welcome aboard!",
        metadata: { plan: "pro" },
      });
      expect(Object.keys(body).slice(0, 6)).toEqual(["id", "type", "to", "subject", "metadata", "timestamp"]);
    },
  },
  {
    format: "POSTSTACK",
    filters: ["email.delivered", "email.bounced"],
    stored: ["email.delivered", "email.bounced"],
    publishAs: "email.bounced",
    name: "email.bounced",
    secret: "poststack-dashboard-secret-one",
    rotateTo: "poststack-dashboard-secret-two",
    bothDuringGrace: true,
    layout(body) {
      expect(body).toMatchObject({ data: { messageId: "msg_01hy4z9k2m", bounce: { type: "hard" } } });
    },
  },
  {
    format: "POSTHAWK",
    filters: ["delivery", "bounce", "complaint"],
    stored: ["email.delivered", "email.bounced", "email.complained"],
    publishAs: "bounce",
    name: "bounce",
    bothDuringGrace: false,
    layout(body, req) {
      expect(header(req, "x-posthawk-event")).toBe(body.type);
      expect(header(req, "content-type")).toBe("application/json");
    },
  },
  {
    format: "POSTAL",
    filters: ["MessageBounced", "MessageSent", "MessageLoaded"],
    stored: ["email.bounced", "email.delivered", "email.opened"],
    publishAs: "MessageBounced",
    name: "MessageBounced",
    bothDuringGrace: false,
    layout(body) {
      expect(Object.keys(body)).toEqual(["event", "timestamp", "payload", "uuid"]);
      expect(typeof body.timestamp).toBe("number");
      expect(body.payload).toMatchObject({
        original_message: { to: "user@example.com", direction: "outgoing" },
      });
    },
  },
  {
    format: "HMAC_SHA256_HEX",
    filters: ["open,click,bounce"],
    stored: ["email.opened", "email.clicked", "email.bounced"],
    publishAs: "email.bounce",
    name: "email.bounce",
    secret: "whsec_your_secret_key_here",
    rotateTo: "a-new-secret-for-these-receivers",
    bothDuringGrace: false,
    layout(body) {
      expect(body).toMatchObject({ email_id: "msg_01hy4z9k2m", recipient: "user@example.com" });
    },
  },
  {
    format: "STANDARD_WEBHOOKS",
    filters: ["email.*"],
    stored: ["email.*"],
    publishAs: "email.bounced",
    name: "email.bounced",
    bothDuringGrace: true,
    layout(body) {
      expect(Object.keys(body)).toEqual(["id", "type", "timestamp", "data"]);
    },
  },
];

describe("receivers of other platforms' webhooks", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    hp = await startTestHookpost();
    client = hp.workspace.client;
  });
  afterAll(async () => {
    await hp?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it.each(CASES)(
    "$format: create, publish, retry, rotation with grace, testEndpoint and replay all verify",
    async (c) => {
      const r = await startReceiver(firstAttemptPerEvent({ status: 500 }));
      receivers.push(r);
      const { createEndpoint } = await client.ok(CreateFormattedEndpointDocument, {
        input: { url: r.url, format: c.format, eventTypes: c.filters, secret: c.secret },
      });
      const { endpoint } = createEndpoint;
      expect(endpoint.format).toBe(c.format);
      expect(endpoint.eventTypes).toEqual(c.stored);
      if (c.secret) expect(createEndpoint.secret).toBe(c.secret);
      let key: ReceiverKey = { secret: createEndpoint.secret, publicKey: endpoint.publicKey ?? null };
      expect(key.publicKey !== null).toBe(c.format === "POSTAL");

      const accepts = (req: ReceivedRequest, k: ReceiverKey) => VERIFY[c.format](req, k);
      /** `published`: carries DATA (a test send carries a sample instead). */
      const readsAsBounce = (req: ReceivedRequest, published = true) => {
        const body = JSON.parse(req.body) as Record<string, unknown>;
        expect(EVENT_NAME[c.format](body)).toBe(c.name);
        if (published) c.layout(body, req);
      };

      // Published under the platform's own name; the first attempt fails, the retry succeeds.
      const { publishEvent } = await client.ok(PublishEventDocument, {
        input: { type: c.publishAs, data: DATA },
      });
      expect(publishEvent.type).toBe("email.bounced");
      const delivery = await deliveryOf(client, publishEvent.id, endpoint.id);
      const { attempts } = await waitForDeliveryStatus(client, delivery.id, "SUCCEEDED");
      const sent = requestsFor(r, publishEvent.id);
      expect(sent).toHaveLength(2);
      for (const req of sent) {
        expect(accepts(req, key)).toBe(true);
        readsAsBounce(req);
        expect(req.body).toBe(sent[0]!.body);
      }
      expect(attempts.map((a) => a.requestBody)).toEqual([sent[0]!.body, sent[0]!.body]);
      expect(accepts({ ...sent[0]!, body: sent[0]!.body.replace("hard", "soft") }, key)).toBe(false);

      // Rotation with grace: the new key verifies; the old one too where the format carries several signatures.
      const { rotateEndpointSecret } = await client.ok(RotateEndpointSecretToDocument, {
        id: endpoint.id,
        gracePeriodSeconds: 3_600,
        secret: c.rotateTo,
      });
      if (c.rotateTo) expect(rotateEndpointSecret.secret).toBe(c.rotateTo);
      const oldKey = key;
      key = {
        secret: rotateEndpointSecret.secret,
        publicKey: rotateEndpointSecret.endpoint.publicKey ?? null,
      };
      const second = await client.ok(PublishEventDocument, { input: { type: "email.bounced", data: DATA } });
      const afterRotation = await waitFor(
        () => requestsFor(r, second.publishEvent.id)[0],
        "the delivery after rotation",
      );
      expect(accepts(afterRotation, key)).toBe(true);
      expect(accepts(afterRotation, oldKey)).toBe(c.bothDuringGrace);

      // A test send, named as the platform names it; the receiver now answers every request at once.
      r.setBehaviour(() => ({ status: 200 }));
      const { testEndpoint } = await client.ok(TestEndpointDocument, {
        id: endpoint.id,
        eventType: c.publishAs,
      });
      expect(testEndpoint.success).toBe(true);
      const tested = r.requests.find((req) => req.body === testEndpoint.attempt.requestBody);
      expect(tested).toBeDefined();
      expect(accepts(tested!, key)).toBe(true);
      readsAsBounce(tested!, false);

      // A replay sends the same body again, signed with the current key.
      await client.ok(ReplayDeliveryDocument, { id: delivery.id });
      const replayed = await waitFor(() => requestsFor(r, publishEvent.id)[2], "the replayed request");
      expect(replayed.body).toBe(sent[0]!.body);
      expect(accepts(replayed, key)).toBe(true);
    },
  );

  it("refuses secrets of the wrong shape for the format, with a reason and without echoing them", async () => {
    const create = (format: WebhookFormat, secret: string) =>
      client.fails(CreateFormattedEndpointDocument, {
        input: { url: "http://127.0.0.1:9/hooks", format, eventTypes: ["*"], secret },
      });
    const tooShort = await create("HMAC_SHA256_HEX", "short-secret");
    expect(tooShort).toEqual({ code: "BAD_USER_INPUT", message: expect.stringMatching(/16–256 characters/) });
    expect(tooShort.message).not.toContain("short-secret");
    expect(await create("STANDARD_WEBHOOKS", "a-plain-secret-of-enough-length")).toEqual({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/whsec_/),
    });
    expect(await create("POSTAL", "a-plain-secret-of-enough-length")).toEqual({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/RSA private key/),
    });
    const { createEndpoint } = await client.ok(CreateFormattedEndpointDocument, {
      input: { url: "http://127.0.0.1:9/hooks", format: "POSTHAWK", eventTypes: ["*"] },
    });
    expect(
      await client.fails(RotateEndpointSecretToDocument, {
        id: createEndpoint.endpoint.id,
        secret: "x".repeat(300),
      }),
    ).toEqual({ code: "BAD_USER_INPUT", message: expect.stringMatching(/16–256/) });
  });

  it("refuses unknown event names, naming close matches", async () => {
    const result = await client.fails(CreateFormattedEndpointDocument, {
      input: { url: "http://127.0.0.1:9/hooks", eventTypes: ["open,clik"] },
    });
    expect(result).toEqual({ code: "BAD_USER_INPUT", message: expect.stringMatching(/"clik".*"click"/) });
    const publish = await client.fails(PublishEventDocument, { input: { type: "MessageBounce", data: {} } });
    expect(publish).toEqual({ code: "BAD_USER_INPUT", message: expect.stringMatching(/"MessageBounced"/) });
    const { publishEvents } = await client.ok(PublishEventsDocument, {
      inputs: [
        { type: "delivered", data: {} },
        { type: "MessageLoaded", data: {} },
        { type: "delivery_delay", data: {} },
        { type: "DomainDNSError", data: {} },
      ],
    });
    expect(publishEvents.map((e) => e.type)).toEqual([
      "email.delivered",
      "email.opened",
      "email.delivery_delayed",
      "domain.dns_error",
    ]);
  });

  it("a new format keeps a secret that fits it and replaces one that does not", async () => {
    const { createEndpoint } = await client.ok(CreateFormattedEndpointDocument, {
      input: {
        url: "http://127.0.0.1:9/hooks",
        eventTypes: ["*"],
        format: "HMAC_SHA256_HEX",
        secret: "sixteen-chars-ok",
      },
    });
    const id = createEndpoint.endpoint.id;
    const toPosthawk = await client.ok(UpdateEndpointFormatDocument, { id, input: { format: "POSTHAWK" } });
    expect(toPosthawk.updateEndpoint).toMatchObject({ format: "POSTHAWK", publicKey: null });
    const toPostal = await client.ok(UpdateEndpointFormatDocument, { id, input: { format: "POSTAL" } });
    expect(toPostal.updateEndpoint.publicKey).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("eventTypes lists each type's name in every format and its aliases", async () => {
    const { eventTypes } = await client.ok(EventTypeNamesDocument);
    const bounced = eventTypes.find((t) => t.name === "email.bounced");
    expect(bounced?.names).toEqual(
      expect.arrayContaining([
        { format: "STANDARD_WEBHOOKS", name: "email.bounced" },
        { format: "POSTJECT", name: "bounced" },
        { format: "POSTHAWK", name: "bounce" },
        { format: "POSTAL", name: "MessageBounced" },
        { format: "HMAC_SHA256_HEX", name: "email.bounce" },
      ]),
    );
    expect(eventTypes.find((t) => t.name === "email.opened")?.aliases).toContain("MessageLoaded");
  });
});
