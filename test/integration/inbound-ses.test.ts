import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SNS_MAX_AGE_S } from "../../src/inbound/providers/ses.ts";
import {
  CreateEndpointDocument,
  CreateInboundSourceDocument,
  InboundMessagesDocument,
} from "../generated/graphql.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver, verifiedDeliveries } from "../support/receiver.ts";
import { sesBounce, sesClick, sesTopicArn } from "../support/sesSamples.ts";
import { sesNotification, signSns, snsSigningKey } from "../support/snsSigning.ts";

/** A loopback stand-in for SNS: serves the signing certificate and records every GET. */
async function startFakeSns(certificatePem: string) {
  const gets: string[] = [];
  const server: Server = createServer((req, res) => {
    gets.push(req.url ?? "");
    if (req.url === "/SimpleNotificationService-test.pem") {
      res.writeHead(200, { "content-type": "application/x-pem-file" }).end(certificatePem);
    } else if (req.url?.startsWith("/?Action=ConfirmSubscription")) {
      res.writeHead(200, { "content-type": "text/xml" }).end("<ConfirmSubscriptionResponse/>");
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    certUrl: `${base}/SimpleNotificationService-test.pem`,
    gets,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("AMAZON_SES inbound sources (through SNS)", () => {
  const key = snsSigningKey();
  let sns: Awaited<ReturnType<typeof startFakeSns>>;
  let hp: TestHookpost;
  let client: GraphqlClient;
  let receiver: Receiver;
  let endpointSecret: string;
  let base: string;
  let workspaceId: string;
  let sourceId: string;

  beforeAll(async () => {
    sns = await startFakeSns(key.certificatePem);
    // The fake SNS is on loopback over plain HTTP: this allows it (OUTBOUND_ALLOW already allows loopback).
    hp = await startTestHookpost({ env: { INBOUND_SNS_HOSTS: "sns.*.amazonaws.com,http://127.0.0.1" } });
    base = hp.url.replace(/\/graphql$/, "");
    receiver = await startReceiver();
  });
  beforeEach(async () => {
    ({ client, id: workspaceId } = await hp.newWorkspace());
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.*"] },
    });
    endpointSecret = createEndpoint.secret;
    const { createInboundSource } = await client.ok(CreateInboundSourceDocument, {
      input: {
        provider: "AMAZON_SES",
        name: "ses",
        stream: "outbound",
        verification: { topicArn: sesTopicArn },
      },
    });
    sourceId = createInboundSource.source.id;
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
    await sns?.close();
  });

  async function post(envelope: unknown, id = sourceId) {
    const res = await fetch(`${base}/inbound/${id}`, {
      method: "POST",
      // SNS posts JSON as text/plain.
      headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification" },
      body: typeof envelope === "string" ? envelope : JSON.stringify(envelope),
    });
    const body = (await res.json()) as { eventIds?: string[]; status?: string; error?: string };
    return { status: res.status, body };
  }

  const delivered = (eventIds: readonly string[]) => verifiedDeliveries(receiver, endpointSecret, eventIds);

  const eventCount = () => hp.db.prisma.event.count({ where: { workspaceId } });
  const signed = (event: unknown, opts: { messageId?: string; at?: Date; version?: "1" | "2" } = {}) =>
    sesNotification(event, {
      topicArn: sesTopicArn,
      privateKey: key.privateKey,
      certUrl: sns.certUrl,
      ...opts,
    });

  async function log() {
    const { inboundMessages } = await client.ok(InboundMessagesDocument, { sourceId, first: 50 });
    return inboundMessages.edges.map((e) => e.node).reverse();
  }

  it("a signed Notification arrives as the catalog event; tampering, another key and an old Timestamp get 401; a retry adds nothing", async () => {
    const messageId = randomUUID();
    const envelope = signed(sesBounce, { messageId });
    const accepted = await post(envelope);
    expect(accepted).toMatchObject({ status: 200, body: { status: "ACCEPTED" } });
    const [event] = await delivered(accepted.body.eventIds!);
    expect(event).toMatchObject({
      type: "email.bounced",
      data: {
        provider: "AMAZON_SES",
        providerEventId: messageId,
        to: ["recipient@example.com"],
        bounce: { type: "hard", code: "5.1.1" },
      },
    });

    const tampered = { ...envelope, Message: envelope.Message!.replace("5.1.1", "4.0.0") };
    expect((await post(tampered)).status).toBe(401);
    const otherKey = sesNotification(sesBounce, {
      topicArn: sesTopicArn,
      privateKey: snsSigningKey().privateKey,
      certUrl: sns.certUrl,
    });
    expect((await post(otherKey)).status).toBe(401);
    const old = signed(sesBounce, { at: new Date(Date.now() - (SNS_MAX_AGE_S + 600) * 1000) });
    expect((await post(old)).status).toBe(401);
    const foreignCert = { ...signed(sesBounce), SigningCertURL: "https://sns.example.com/cert.pem" };
    expect((await post(foreignCert)).status).toBe(401);

    const retry = await post(envelope);
    expect(retry.body.eventIds).toEqual(accepted.body.eventIds);
    expect(await eventCount()).toBe(1);
    expect(
      receiver.requests.filter((r) => r.headers["webhook-id"] === accepted.body.eventIds![0]),
    ).toHaveLength(1);
    const statuses = (await log()).map((m) => [m.status, m.reason]);
    expect(statuses).toEqual([
      ["ACCEPTED", null],
      ["REJECTED", "signature mismatch"],
      ["REJECTED", "signature mismatch"],
      ["REJECTED", expect.stringMatching(/Timestamp outside/)],
      ["REJECTED", expect.stringMatching(/not an Amazon SNS host/)],
      ["ACCEPTED", null],
    ]);
    // The certificate was fetched once and then served from the cache.
    expect(sns.gets.filter((url) => url.endsWith(".pem"))).toHaveLength(1);
  });

  it("accepts SignatureVersion 1 (SHA1) as well as 2", async () => {
    const accepted = await post(signed(sesClick, { version: "1" }));
    expect(accepted.status).toBe(200);
    const [event] = await delivered(accepted.body.eventIds!);
    expect(event).toMatchObject({
      type: "email.clicked",
      data: { click: { url: expect.stringContaining("docs.aws") } },
    });
  });

  it("confirms a SubscriptionConfirmation with a GET of its SubscribeURL, through the outbound guard", async () => {
    const token = randomUUID().replace(/-/g, "");
    const subscribeUrl = `${sns.base}/?Action=ConfirmSubscription&TopicArn=${sesTopicArn}&Token=${token}`;
    const confirmation = signSns(
      {
        Type: "SubscriptionConfirmation",
        MessageId: randomUUID(),
        Token: token,
        TopicArn: sesTopicArn,
        Message: `You have chosen to subscribe to the topic ${sesTopicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
        SubscribeURL: subscribeUrl,
        Timestamp: new Date().toISOString(),
      },
      key.privateKey,
      sns.certUrl,
    );
    const answer = await post(confirmation);
    expect(answer).toMatchObject({ status: 200, body: { status: "IGNORED", eventIds: [] } });
    expect(sns.gets).toContain(subscribeUrl.slice(sns.base.length));
    const [entry] = await log();
    expect(entry).toMatchObject({ status: "IGNORED", reason: `subscription to ${sesTopicArn} confirmed` });
    expect(await eventCount()).toBe(0);
  });

  it("answers 503 while the certificate cannot be fetched, so SNS retries", async () => {
    const missing = { ...signed(sesBounce), SigningCertURL: `${sns.base}/missing.pem` };
    // Re-signing is not needed: the certificate fetch fails before the signature is checked.
    expect((await post(missing)).status).toBe(503);
    expect(await eventCount()).toBe(0);
  });

  it("needs a topic ARN to create a source, and refuses another topic's messages", async () => {
    const missing = await client.fails(CreateInboundSourceDocument, {
      input: { provider: "AMAZON_SES", name: "ses", verification: {} },
    });
    expect(missing.code).toBe("BAD_USER_INPUT");
    const malformed = await client.fails(CreateInboundSourceDocument, {
      input: { provider: "AMAZON_SES", name: "ses", verification: { topicArn: "ses-events" } },
    });
    expect(malformed.code).toBe("BAD_USER_INPUT");
    const otherTopic = sesNotification(sesBounce, {
      topicArn: "arn:aws:sns:us-east-1:123456789012:someone-else",
      privateKey: key.privateKey,
      certUrl: sns.certUrl,
    });
    expect(await post(otherTopic)).toMatchObject({
      status: 401,
      body: { error: expect.stringMatching(/TopicArn/) },
    });
  });
});
