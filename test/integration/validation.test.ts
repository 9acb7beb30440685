import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  type CreateEndpointInput,
  GetEventDocument,
  ListDeliveriesDocument,
  ListEndpointsDocument,
  ListEventsDocument,
  LiveReplayProgressDocument,
  PublishEventDocument,
  PublishEventsDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { deliveryOf, waitForDeliveryStatus } from "../support/deliveries.ts";
import { requestsFor } from "../support/eventRequests.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { wsClient, wsSubscribe } from "../support/live.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const PAYLOAD_LIMIT_BYTES = 1_024;

describe("input validation", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;

  const createFails = (input: Partial<CreateEndpointInput>) =>
    client.fails(CreateEndpointDocument, {
      input: { url: "https://hooks.example.com/in", eventTypes: ["*"], ...input },
    });

  beforeAll(async () => {
    // No allow-list: only public addresses may receive webhooks, as in production.
    hp = await startTestHookpost({
      env: { OUTBOUND_ALLOW: "", PAYLOAD_LIMIT_BYTES: String(PAYLOAD_LIMIT_BYTES) },
    });
    client = hp.workspace.client;
  });
  afterAll(async () => {
    await hp?.stop();
  });

  it.each([
    ["not a url", /not a valid URL/],
    ["ftp://files.example.com/hooks", /scheme "ftp" is not supported/],
    ["https://user:pw@hooks.example.com/", /credentials/],
    ["http://10.0.0.5/hooks", /10\.0\.0\.5 is not allowed/],
    ["http://169.254.169.254/latest/meta-data", /169\.254\.169\.254 is not allowed/],
    ["http://[::1]:8080/", /::1 is not allowed/],
    ["http://[::ffff:127.0.0.1]/", /is not allowed/],
    [
      "http://127.0.0.1:4000/",
      /127\.0\.0\.1 is not allowed \(loopback range\); set OUTBOUND_ALLOW=127\.0\.0\.1 to allow it$/,
    ],
    ["http://localhost:4000/", /localhost is not allowed/],
  ])("refuses the endpoint URL %s", async (url, message) => {
    const result = await createFails({ url });
    expect(result.code).toBe("BAD_USER_INPUT");
    expect(result.message).toMatch(message);
  });

  it("refuses a forbidden URL on update too", async () => {
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: "https://hooks.example.com/in", eventTypes: ["*"] },
    });
    const result = await client.fails(UpdateEndpointDocument, {
      id: createEndpoint.endpoint.id,
      input: { url: "http://192.168.1.10/" },
    });
    expect(result).toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/192\.168\.1\.10/),
    });
  });

  it.each([
    [{ eventTypes: ["email.nope"] }, /unknown event type "email.nope"/],
    [{ eventTypes: ["sms.*"] }, /unknown event type "sms.\*"/],
    [{ eventTypes: [] }, /at least one type/],
    [{ headers: { "Bad Header": "x" } }, /"Bad Header" is not a valid header name/],
    [{ headers: { "Webhook-Signature": "v1,forged" } }, /set by Hookpost/],
    [{ headers: { "Content-Type": "text/plain" } }, /set by Hookpost/],
    [{ headers: { "X-Multi": "a\r\nInjected: yes" } }, /single-line/],
    [{ headers: ["not", "an", "object"] }, /headers must be an object/],
  ])("refuses endpoint input %j", async (input, message) => {
    const result = await createFails(input);
    expect(result.code).toBe("BAD_USER_INPUT");
    expect(result.message).toMatch(message);
  });

  it.each([
    [{ type: "email.nope", data: {} }, /unknown event type "email.nope"/],
    [{ type: "endpoint.disabled", data: {} }, /unknown event type "endpoint.disabled"/],
    [{ type: "email.sent", data: [1, 2] }, /data must be a JSON object/],
    [{ type: "email.sent", data: { blob: "x".repeat(PAYLOAD_LIMIT_BYTES) } }, /limit is 1024/],
    [{ type: "email.sent", data: {}, idempotencyKey: "" }, /idempotencyKey/],
  ])("refuses event %#", async (input, message) => {
    const result = await client.fails(PublishEventDocument, { input });
    expect(result.code).toBe("BAD_USER_INPUT");
    expect(result.message).toMatch(message);
  });

  it("refuses an empty or partly bad batch, and accepts none of it", async () => {
    expect(await client.fails(PublishEventsDocument, { inputs: [] })).toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/1–1000 events/),
    });
    const result = await client.fails(PublishEventsDocument, {
      inputs: [
        { type: "email.sent", data: { n: 1 } },
        { type: "email.nope", data: { n: 2 } },
      ],
    });
    expect(result).toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/event 1/) });
    const { events } = await client.ok(ListEventsDocument, { filter: { types: ["email.sent"] } });
    expect(events.edges).toHaveLength(0);
  });

  it("accepts a payload just under the limit", async () => {
    const blob = "x".repeat(PAYLOAD_LIMIT_BYTES - '{"blob":""}'.length);
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.held", data: { blob } },
    });
    expect(publishEvent.type).toBe("email.held");
  });

  // PostgreSQL cannot store U+0000; before, such an event came back as an internal error.
  it.each([
    ["a data value", { type: "email.sent", data: { subject: "a\u0000b" } }],
    ["a nested data key", { type: "email.sent", data: { tags: [{ "k\u0000": 1 }] } }],
    ["the stream", { type: "email.sent", data: {}, stream: "s\u0000" }],
    ["the idempotency key", { type: "email.sent", data: {}, idempotencyKey: "k\u0000" }],
  ])("refuses the NUL character in %s, and stores nothing", async (_where, input) => {
    const result = await client.fails(PublishEventDocument, { input });
    expect(result).toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/NUL/) });
    const { events } = await client.ok(ListEventsDocument, { filter: { types: ["email.sent"] } });
    expect(events.edges).toHaveLength(0);
  });

  it("refuses the NUL character in a literal of the query, in a lookup and in a subscription", async () => {
    const literal: TypedDocumentNode<unknown, Record<string, never>> = parse(
      'mutation { publishEvent(input: { type: "email.sent", data: { subject: "a\\u0000b" } }) { id } }',
    );
    expect(await client.fails(literal)).toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/NUL/),
    });
    expect(await createFails({ description: "x\u0000" })).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(await client.fails(GetEventDocument, { id: "evt_\u0000" })).toMatchObject({
      code: "BAD_USER_INPUT",
    });

    const ws = wsClient(hp.url, `Bearer ${hp.workspace.apiKey}`);
    try {
      const live = wsSubscribe(ws, LiveReplayProgressDocument, { id: "rpl_\u0000" });
      await waitFor(async () => live.errors.length > 0 || live.ended, "the subscription's answer");
      expect(live.errors).toMatchObject([{ extensions: { code: "BAD_USER_INPUT" } }]);
    } finally {
      await ws.dispose();
    }
  });

  it("refuses bad page arguments", async () => {
    for (const [what, run] of [
      ["endpoints", () => client.fails(ListEndpointsDocument, { after: "not-a-cursor" })],
      ["events", () => client.fails(ListEventsDocument, { after: "bm90IGpzb24" })],
      ["deliveries", () => client.fails(ListDeliveriesDocument, { after: "WyJub3QgYSBkYXRlIiwxXQ" })],
      ["first > 100", () => client.fails(ListEventsDocument, { first: 101 })],
      ["first < 0", () => client.fails(ListEndpointsDocument, { first: -1 })],
    ] as const) {
      const result = await run();
      expect(result.code, what).toBe("BAD_USER_INPUT");
      expect(result.message, what).toMatch(/cursor|first must be between 0 and 100/);
    }
  });

  describe("at send time", () => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver?.close();
    });

    it("refuses a hostname that resolves to loopback, and nothing reaches the receiver", async () => {
      const { createEndpoint } = await client.ok(CreateEndpointDocument, {
        input: { url: "https://hooks.example.com/in", eventTypes: ["email.*"] },
      });
      // DNS cannot be changed from a test, so the stored URL is pointed at a name that now
      // resolves to loopback (what a DNS change after validation does). The API refuses
      // "localhost" itself; the connect-time guard must refuse it too.
      const target = new URL(receiver.url);
      target.hostname = "localhost";
      await hp.db.prisma.endpoint.update({
        where: { id: createEndpoint.endpoint.id },
        data: { url: target.toString() },
      });
      const { publishEvent } = await client.ok(PublishEventDocument, {
        input: { type: "email.sent", data: { to: "a@example.com" } },
      });
      const { id } = await deliveryOf(client, publishEvent.id, createEndpoint.endpoint.id);
      const delivery = await waitForDeliveryStatus(client, id, "FAILED");

      expect(delivery.attempts.length).toBeGreaterThan(0);
      for (const attempt of delivery.attempts) {
        expect(attempt.responseStatus).toBeNull();
        expect(attempt.error).toMatch(
          /^host localhost is not allowed: it resolves to an address in the loopback range; set OUTBOUND_ALLOW=localhost to allow it$/,
        );
      }
      expect(requestsFor(receiver, publishEvent.id)).toHaveLength(0);
    });
  });
});
