import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { issueApiKey } from "../../src/services/apiKeys.ts";
import {
  CreateEndpointDocument,
  CreateInboundSourceDocument,
  type CreateInboundSourceInput,
  DeleteInboundSourceDocument,
  InboundMessagesDocument,
  InboundSourceDocument,
  InboundSourcesDocument,
  UpdateInboundSourceDocument,
} from "../generated/graphql.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import {
  genericBounce,
  mailgunDeliveredEventData,
  mailgunFailedEventData,
  postmarkBounce,
  postmarkClick,
  resendBounced,
  sendgridBatch,
} from "../support/inboundSamples.ts";
import {
  genericHeaders,
  mailgunSignature,
  postmarkHeaders,
  resendHeaders,
  sendgridHeaders,
  sendgridKeys,
} from "../support/inboundSigning.ts";
import { type Receiver, startReceiver, verifiedDeliveries } from "../support/receiver.ts";

const INBOUND_BODY_LIMIT_BYTES = 64 * 1024;
/** Above what any one test posts to a source, but for the test of the limit. */
const INBOUND_PER_MINUTE = 12;
const tenMinutesAgo = () => new Date(Date.now() - 600_000);

describe("inbound provider webhooks", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  let receiver: Receiver;
  let endpointSecret: string;
  let base: string;
  let workspaceId: string;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        INBOUND_BODY_LIMIT_BYTES: String(INBOUND_BODY_LIMIT_BYTES),
        RATE_LIMIT_INBOUND_PER_MINUTE: String(INBOUND_PER_MINUTE),
      },
    });
    base = hp.url.replace(/\/graphql$/, "");
    receiver = await startReceiver();
  });
  // A workspace and an endpoint per test, so each test sees only its own events.
  beforeEach(async () => {
    ({ client, id: workspaceId } = await hp.newWorkspace());
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.*"] },
    });
    endpointSecret = createEndpoint.secret;
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  async function source(input: CreateInboundSourceInput) {
    const { createInboundSource } = await client.ok(CreateInboundSourceDocument, { input });
    return createInboundSource.source;
  }

  async function post(sourceId: string, body: string, headers: Record<string, string>) {
    const res = await fetch(`${base}/inbound/${sourceId}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as { eventIds?: string[]; status?: string }) : {},
    };
  }

  const delivered = (eventIds: readonly string[]) => verifiedDeliveries(receiver, endpointSecret, eventIds);

  /** Every event the test's workspace holds: rejected requests and retries must add none. */
  const eventCount = () => hp.db.prisma.event.count({ where: { workspaceId } });

  async function log(sourceId: string) {
    const { inboundMessages } = await client.ok(InboundMessagesDocument, { sourceId, first: 50 });
    return inboundMessages.edges.map((e) => e.node).reverse();
  }

  it("GENERIC (seed 004): a signed body becomes an email.* event; tampering, a wrong key and a retry do not add any", async () => {
    const secret = "whsec_your_secret_key_here";
    const { id, url, provider } = await source({
      provider: "GENERIC",
      name: "seed",
      verification: { secret },
    });
    expect(provider).toBe("GENERIC");
    expect(url).toMatch(new RegExp(`/inbound/${id}$`));
    const body = JSON.stringify(genericBounce);

    const first = await post(id, body, genericHeaders(body, secret));
    expect(first).toMatchObject({ status: 200, body: { status: "ACCEPTED" } });
    const [event] = await delivered(first.body.eventIds!);
    expect(event).toMatchObject({
      type: "email.bounced",
      data: { provider: "GENERIC", messageId: "msg_abc123def456", to: ["invalid@example.com"] },
    });

    const tampered = body.replace("invalid@", "other@");
    expect((await post(id, tampered, genericHeaders(body, secret))).status).toBe(401);
    expect((await post(id, body, genericHeaders(body, "another secret"))).status).toBe(401);
    const retry = await post(id, body, genericHeaders(body, secret));
    expect(retry.body.eventIds).toEqual(first.body.eventIds);

    const unknown = JSON.stringify({ ...genericBounce, type: "email.forwarded" });
    expect(await post(id, unknown, genericHeaders(unknown, secret))).toMatchObject({
      status: 200,
      body: { status: "IGNORED", eventIds: [] },
    });

    const messages = await log(id);
    expect(messages.map((m) => m.status)).toEqual([
      "ACCEPTED",
      "REJECTED",
      "REJECTED",
      "ACCEPTED",
      "IGNORED",
    ]);
    expect(messages[1]!.reason).toBe("signature mismatch");
    expect(messages[0]!.body).toBe(body);
    expect(messages[4]!.reason).toMatch(/email\.forwarded/);
    // The retry added no event and no second delivery.
    expect(receiver.requests.filter((r) => r.headers["webhook-id"] === first.body.eventIds![0])).toHaveLength(
      1,
    );
  });

  it("RESEND: Svix-signed events arrive; an old timestamp and another secret get 401", async () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const { id } = await source({ provider: "RESEND", name: "resend", verification: { secret } });
    const body = JSON.stringify(resendBounced);
    const accepted = await post(id, body, resendHeaders(body, secret, "msg_2p5xBSbBB6PTeAHl"));
    expect(accepted.status).toBe(200);
    const [event] = await delivered(accepted.body.eventIds!);
    expect(event).toMatchObject({
      type: "email.bounced",
      data: { provider: "RESEND", providerEventId: "msg_2p5xBSbBB6PTeAHl", bounce: { type: "hard" } },
    });
    expect((await post(id, body, resendHeaders(body, secret, "msg_old", tenMinutesAgo()))).status).toBe(401);
    const other = "whsec_b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldA==";
    expect((await post(id, body, resendHeaders(body, other, "msg_x"))).status).toBe(401);
    expect((await post(id, `${body} `, resendHeaders(body, secret, "msg_y"))).status).toBe(401);
    const retry = await post(id, body, resendHeaders(body, secret, "msg_2p5xBSbBB6PTeAHl"));
    expect(retry.body.eventIds).toEqual(accepted.body.eventIds);
    expect(await eventCount()).toBe(1);
  });

  it("SENDGRID: a signed batch becomes one event per known type; a retry of the batch adds none", async () => {
    const { privateKey, publicKey } = sendgridKeys();
    const { id } = await source({
      provider: "SENDGRID",
      name: "sg",
      stream: "marketing",
      verification: { publicKey },
    });
    const body = JSON.stringify(sendgridBatch);
    const accepted = await post(id, body, sendgridHeaders(body, privateKey));
    expect(accepted.status).toBe(200);
    expect(accepted.body.eventIds).toHaveLength(4);
    const events = await delivered(accepted.body.eventIds!);
    expect(events.map((e) => e.type)).toEqual([
      "email.sent",
      "email.delivered",
      "email.bounced",
      "email.clicked",
    ]);
    expect(events[3]!.data).toMatchObject({ click: { url: "https://sendgrid.com" }, provider: "SENDGRID" });

    const retry = await post(id, body, sendgridHeaders(body, privateKey));
    expect(retry.body.eventIds).toEqual(accepted.body.eventIds);
    expect((await post(id, body.replace("5.0.0", "4.0.0"), sendgridHeaders(body, privateKey))).status).toBe(
      401,
    );
    expect((await post(id, body, sendgridHeaders(body, sendgridKeys().privateKey))).status).toBe(401);
    expect((await post(id, body, sendgridHeaders(body, privateKey, tenMinutesAgo()))).status).toBe(401);
    const [log1] = await log(id);
    expect(log1).toMatchObject({
      status: "ACCEPTED",
      reason: "unknown event types ignored: group_resubscribe",
    });
  });

  it("MAILGUN: the body's signature is checked with the signing key and its timestamp's age", async () => {
    const key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    const { id } = await source({ provider: "MAILGUN", name: "mg", verification: { secret: key } });
    const signed = (eventData: unknown, signingKey = key, at = new Date()) =>
      JSON.stringify({ signature: mailgunSignature(signingKey, at), "event-data": eventData });
    const failed = signed(mailgunFailedEventData);
    const accepted = await post(id, failed, {});
    const delivery = await post(id, signed(mailgunDeliveredEventData), {});
    const events = await delivered([...accepted.body.eventIds!, ...delivery.body.eventIds!]);
    expect(events.map((e) => e.type)).toEqual(["email.bounced", "email.delivered"]);
    expect(events[0]!.data).toMatchObject({ bounce: { type: "hard", code: "605" } });

    expect((await post(id, signed(mailgunFailedEventData, "wrong key"), {})).status).toBe(401);
    expect((await post(id, signed(mailgunFailedEventData, key, tenMinutesAgo()), {})).status).toBe(401);
    // Mailgun signs timestamp + token only: a changed signature field is what tampering can touch.
    const forged = JSON.parse(failed) as { signature: { token: string } };
    forged.signature.token = "f".repeat(50);
    expect((await post(id, JSON.stringify(forged), {})).status).toBe(401);
    expect((await post(id, failed, {})).body.eventIds).toEqual(accepted.body.eventIds);
    expect(await eventCount()).toBe(2);
  });

  it("POSTMARK: basic-auth credentials; wrong ones get 401, a retried record no duplicate", async () => {
    const { id } = await source({
      provider: "POSTMARK",
      name: "pm",
      verification: { username: "postmark", password: "s3cret" },
    });
    const auth = postmarkHeaders("postmark", "s3cret");
    const bounce = await post(id, JSON.stringify(postmarkBounce), auth);
    const click = await post(id, JSON.stringify(postmarkClick), auth);
    const events = await delivered([...bounce.body.eventIds!, ...click.body.eventIds!]);
    expect(events.map((e) => e.type)).toEqual(["email.bounced", "email.clicked"]);
    expect((await post(id, JSON.stringify(postmarkBounce), postmarkHeaders("postmark", "nope"))).status).toBe(
      401,
    );
    expect((await post(id, JSON.stringify(postmarkClick), {})).status).toBe(401);
    expect((await post(id, JSON.stringify(postmarkClick), auth)).body.eventIds).toEqual(click.body.eventIds);
    expect(await eventCount()).toBe(2);
  });

  it("answers 413 to a body over the limit and 404 to an unknown source, and logs the 413", async () => {
    const { id } = await source({ provider: "GENERIC", name: "big", verification: { secret: "s" } });
    const big = JSON.stringify({ ...genericBounce, padding: "x".repeat(INBOUND_BODY_LIMIT_BYTES) });
    expect((await post(id, big, genericHeaders(big, "s"))).status).toBe(413);
    expect((await post("isrc_nope", "{}", {})).status).toBe(404);
    const [entry] = await log(id);
    expect(entry).toMatchObject({ status: "REJECTED", reason: expect.stringMatching(/limit/) });
  });

  it("limits requests per source: past the limit 429 with Retry-After, other sources unaffected", async () => {
    const busy = await source({ provider: "GENERIC", name: "busy", verification: { secret: "s" } });
    const quiet = await source({ provider: "GENERIC", name: "quiet", verification: { secret: "s" } });
    const body = JSON.stringify(genericBounce);
    const statuses: number[] = [];
    for (let i = 0; i <= INBOUND_PER_MINUTE; i++)
      statuses.push((await post(busy.id, body, genericHeaders(body, "s"))).status);
    expect(statuses.slice(0, INBOUND_PER_MINUTE).every((s) => s === 200)).toBe(true);
    expect(statuses[INBOUND_PER_MINUTE]).toBe(429);
    const res = await fetch(`${base}/inbound/${busy.id}`, { method: "POST", body });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await post(quiet.id, body, genericHeaders(body, "s"))).status).toBe(200);
  });

  it("keeps sources to their workspace and to ADMIN keys, never returns credentials, and checks them per provider", async () => {
    const { id } = await source({ provider: "GENERIC", name: "mine", verification: { secret: "s" } });
    const other = (await hp.newWorkspace("other")).client;
    expect((await other.ok(InboundSourceDocument, { id })).inboundSource).toBeNull();
    expect((await other.ok(InboundSourcesDocument)).inboundSources).toEqual([]);
    expect((await other.ok(InboundMessagesDocument, { sourceId: id })).inboundMessages.edges).toEqual([]);
    expect((await other.fails(DeleteInboundSourceDocument, { id })).code).toBe("NOT_FOUND");

    const { key } = await issueApiKey(hp.db.prisma, workspaceId, { name: "dashboard", scopes: ["READ"] });
    const reader = hp.client(`Bearer ${key}`);
    expect((await reader.ok(InboundSourcesDocument)).inboundSources.map((s) => s.id)).toEqual([id]);
    const readerCreates = await reader.fails(CreateInboundSourceDocument, {
      input: { provider: "GENERIC", name: "x", verification: { secret: "s" } },
    });
    expect(readerCreates.code).toBe("FORBIDDEN");

    const raw = await client.execute(InboundSourcesDocument);
    expect(JSON.stringify(raw)).not.toContain('"s"');
    const missingKey = await client.fails(CreateInboundSourceDocument, {
      input: { provider: "SENDGRID", name: "sg", verification: { secret: "x" } },
    });
    expect(missingKey.code).toBe("BAD_USER_INPUT");
    const badKey = await client.fails(CreateInboundSourceDocument, {
      input: { provider: "SENDGRID", name: "sg", verification: { publicKey: "bm90IGEga2V5" } },
    });
    expect(badKey.code).toBe("BAD_USER_INPUT");

    const { updateInboundSource } = await client.ok(UpdateInboundSourceDocument, {
      id,
      input: { name: "renamed", verification: { secret: "t" } },
    });
    expect(updateInboundSource.name).toBe("renamed");
    const body = JSON.stringify(genericBounce);
    expect((await post(id, body, genericHeaders(body, "s"))).status).toBe(401);
    expect((await post(id, body, genericHeaders(body, "t"))).status).toBe(200);
    expect((await client.ok(DeleteInboundSourceDocument, { id })).deleteInboundSource).toBe(id);
    expect((await post(id, body, genericHeaders(body, "t"))).status).toBe(404);
  });
});
