import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CreateEndpointInput,
  CreatePolicyEndpointDocument,
  PublishEventDocument,
  PublishEventsDocument,
  type UpdateEndpointInput,
  UpdateEndpointPolicyDocument,
} from "../generated/graphql.ts";
import { deliveryOf, waitForDeliveryStatus } from "../support/deliveries.ts";
import { requestsFor } from "../support/eventRequests.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost, testEnv } from "../support/hookpost.ts";
import { type HookpostProcess, spawnHookpost } from "../support/processes.ts";
import { type ReceivedRequest, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

/** Gaps between a receiver's requests for one event, in ms. */
const gapsOf = (requests: ReceivedRequest[]) => requests.slice(1).map((req, i) => req.at - requests[i]!.at);

describe("per-endpoint retry schedule and give-up age", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    // The server's schedule (testEnv: 100ms,200ms,300ms) makes four attempts; the endpoints below differ.
    hp = await startTestHookpost();
    client = hp.workspace.client;
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await hp?.stop();
  });

  async function failingEndpoint(input: Partial<CreateEndpointInput>) {
    const receiver = await startReceiver(() => ({ status: 500 }));
    receivers.push(receiver);
    const { createEndpoint } = await client.ok(CreatePolicyEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["*"], ...input },
    });
    return { receiver, endpoint: createEndpoint.endpoint };
  }

  async function publishTo(endpointId: string) {
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.bounced", data: { to: "a@example.com" } },
    });
    return { eventId: publishEvent.id, delivery: await deliveryOf(client, publishEvent.id, endpointId) };
  }

  it("makes one attempt more than the endpoint's schedule has delays, at those delays", async () => {
    const { receiver, endpoint } = await failingEndpoint({ retrySchedule: ["100ms", "500ms"] });
    expect(endpoint.retrySchedule).toEqual(["100ms", "500ms"]);
    expect(endpoint.retryForSeconds).toBeNull();

    const { eventId, delivery } = await publishTo(endpoint.id);
    const failed = await waitForDeliveryStatus(client, delivery.id, "FAILED");
    expect(failed.attemptCount).toBe(3);
    expect(failed.attempts.map((a) => a.trigger)).toEqual(["SCHEDULED", "RETRY", "RETRY"]);
    const requests = requestsFor(receiver, eventId);
    expect(requests).toHaveLength(3);
    const [first, second] = gapsOf(requests);
    expect(first).toBeGreaterThanOrEqual(90);
    expect(second).toBeGreaterThanOrEqual(450);
  });

  it("gives up once the first attempt is retryForSeconds old: FAILED and delivery.exhausted", async () => {
    const { receiver, endpoint } = await failingEndpoint({
      retrySchedule: Array(20).fill("400ms"),
      retryForSeconds: 2,
    });
    expect(endpoint.retryForSeconds).toBe(2);

    const { eventId, delivery } = await publishTo(endpoint.id);
    const failed = await waitForDeliveryStatus(client, delivery.id, "FAILED");
    // The schedule has 21 attempts; two seconds leave room for about six.
    expect(failed.attemptCount).toBeGreaterThanOrEqual(2);
    expect(failed.attemptCount).toBeLessThan(21);
    expect(requestsFor(receiver, eventId)).toHaveLength(failed.attemptCount);
    const attempts = await hp.db.prisma.deliveryAttempt.findMany({
      where: { deliveryId: delivery.id },
      orderBy: { number: "asc" },
    });
    // The age counts from the first attempt's start. The delivery gives up on the first failure
    // recorded at or past it (an attempt may start just before and end after), and no retry is
    // put off past it.
    const { firstAttemptAt } = await hp.db.prisma.delivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(firstAttemptAt!.getTime()).toBe(attempts[0]!.startedAt.getTime());
    const last = attempts.at(-1)!;
    expect(last.createdAt.getTime() - firstAttemptAt!.getTime()).toBeGreaterThanOrEqual(2_000);
    expect(last.startedAt.getTime() - firstAttemptAt!.getTime()).toBeLessThan(4_000);
    for (const earlier of attempts.slice(0, -1))
      expect(earlier.createdAt.getTime() - firstAttemptAt!.getTime()).toBeLessThan(2_000);

    const notice = await waitFor(async () => {
      const events = await hp.db.prisma.event.findMany({
        where: { workspaceId: hp.workspace.id, type: "delivery.exhausted" },
      });
      return events.find((e) => (e.payload as { deliveryId?: string }).deliveryId === delivery.id);
    }, "a delivery.exhausted notice");
    expect(notice.payload).toMatchObject({ endpointId: endpoint.id, attempts: failed.attemptCount });
  });

  it("goes back to the server's defaults when a field is set to null, and keeps fields left out", async () => {
    const { endpoint } = await failingEndpoint({
      retrySchedule: ["5s", "10s", "20s"],
      retryForSeconds: 86_400,
      rateLimitPerSecond: 5,
    });
    expect(endpoint).toMatchObject({
      retrySchedule: ["5s", "10s", "20s"],
      retryForSeconds: 86_400,
      rateLimitPerSecond: 5,
    });
    const update = (input: UpdateEndpointInput) =>
      client.ok(UpdateEndpointPolicyDocument, { id: endpoint.id, input }).then((r) => r.updateEndpoint);
    expect(await update({ retrySchedule: null })).toMatchObject({
      retrySchedule: null,
      retryForSeconds: 86_400,
      rateLimitPerSecond: 5,
    });
    expect(
      await update({ retryForSeconds: null, rateLimitPerSecond: null, retrySchedule: ["1m"] }),
    ).toMatchObject({
      retrySchedule: ["1m"],
      retryForSeconds: null,
      rateLimitPerSecond: null,
    });
  });

  it("refuses bad policies with BAD_USER_INPUT, on create and on update", async () => {
    const bad: [Partial<CreateEndpointInput>, string][] = [
      [{ retrySchedule: ["soon"] }, "retrySchedule"],
      [{ retrySchedule: [] }, "retrySchedule"],
      [{ retrySchedule: ["50ms"] }, "retrySchedule"],
      [{ retrySchedule: ["8d"] }, "retrySchedule"],
      [{ retrySchedule: Array(21).fill("1s") }, "retrySchedule"],
      [{ retryForSeconds: -1 }, "retryForSeconds"],
      [{ retryForSeconds: 31 * 86_400 }, "retryForSeconds"],
      [{ rateLimitPerSecond: 0 }, "rateLimitPerSecond"],
      [{ rateLimitPerSecond: 10_001 }, "rateLimitPerSecond"],
    ];
    const { endpoint } = await failingEndpoint({});
    for (const [input, field] of bad) {
      const created = await client.fails(CreatePolicyEndpointDocument, {
        input: { url: "http://127.0.0.1:9/hooks", eventTypes: ["*"], ...input },
      });
      expect(created.code, JSON.stringify(input)).toBe("BAD_USER_INPUT");
      expect(created.message).toContain(field);
      const updated = await client.fails(UpdateEndpointPolicyDocument, { id: endpoint.id, input });
      expect(updated.code, JSON.stringify(input)).toBe("BAD_USER_INPUT");
    }
    // Nothing was changed by the refused updates.
    const { updateEndpoint } = await client.ok(UpdateEndpointPolicyDocument, { id: endpoint.id, input: {} });
    expect(updateEndpoint).toMatchObject({
      retrySchedule: null,
      retryForSeconds: null,
      rateLimitPerSecond: null,
    });
  });
});

describe("rateLimitPerSecond across two worker processes", () => {
  const EVENTS = 200;
  const RATE = 20;
  let hp: TestHookpost;
  let workers: HookpostProcess[] = [];
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    hp = await startTestHookpost({ roles: ["api"] });
    // The default grace: a burst still queued after testEnv's one second could be swept and sent twice.
    const env = testEnv({
      DATABASE_URL: hp.db.url,
      REDIS_PREFIX: hp.config.redis.prefix,
      SWEEP_GRACE_MS: "60000",
    });
    workers = await Promise.all([spawnHookpost("worker", env), spawnHookpost("worker", env)]);
  }, 300_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(receivers.map((r) => r.close()));
    await hp?.stop();
  });

  it("holds one endpoint to its rate, every delivery arriving once, without slowing another", async () => {
    const { client } = hp.workspace;
    const limited = await startReceiver();
    const free = await startReceiver();
    receivers.push(limited, free);
    const create = async (url: string, eventTypes: string[], rateLimitPerSecond: number | null) => {
      const { createEndpoint } = await client.ok(CreatePolicyEndpointDocument, {
        input: { url, eventTypes, rateLimitPerSecond },
      });
      return createEndpoint.endpoint.id;
    };
    const limitedId = await create(limited.url, ["email.sent"], RATE);
    await create(free.url, ["email.delivered"], null);

    const publish = async (type: string) => {
      const { publishEvents } = await client.ok(PublishEventsDocument, {
        inputs: Array.from({ length: EVENTS }, (_, n) => ({ type, data: { n } })),
      });
      return publishEvents.map((e) => e.id);
    };
    /** Arrival times of these events' requests, sorted. */
    const arrivals = (receiver: Receiver, eventIds: string[]) =>
      eventIds.flatMap((id) => requestsFor(receiver, id).map((req) => req.at)).sort((a, b) => a - b);
    /** Publishes a burst to the endpoint without a limit; ms until its last delivery arrived. */
    const freeBurstMs = async () => {
      const startedAt = Date.now();
      const eventIds = await publish("email.delivered");
      await waitFor(() => arrivals(free, eventIds).length >= EVENTS, "the burst without a limit", 60_000);
      const at = arrivals(free, eventIds);
      expect(at).toHaveLength(EVENTS);
      return at.at(-1)! - startedAt;
    };

    const aloneMs = await freeBurstMs();
    const limitedIds = await publish("email.sent");
    // While most of the limited endpoint's deliveries wait for their turn, another burst goes elsewhere.
    await waitFor(() => arrivals(limited, limitedIds).length >= RATE, "the limited endpoint's first second");
    const waiting = await hp.db.prisma.delivery.findMany({
      where: { endpointId: limitedId, status: "PENDING" },
    });
    // Each waiting one says when its turn comes, so the sweeper leaves it to its delayed job.
    expect(waiting.filter((d) => d.nextAttemptAt! > new Date(Date.now() + 2_000)).length).toBeGreaterThan(
      EVENTS / 2,
    );
    const besideWaitingMs = await freeBurstMs();
    await waitFor(() => arrivals(limited, limitedIds).length >= EVENTS, "every limited delivery", 90_000);
    const limitedAt = arrivals(limited, limitedIds);
    const limitedSpanMs = limitedAt.at(-1)! - limitedAt[0]!;
    console.info(
      `rate limit ${RATE}/s, ${EVENTS} deliveries: ${limitedSpanMs} ms first to last at the receiver; ` +
        `${EVENTS} to another endpoint: ${aloneMs} ms alone, ${besideWaitingMs} ms beside the waiting ones`,
    );

    // Each arrived once: none dropped, none sent twice.
    expect(limitedAt).toHaveLength(EVENTS);
    expect(limitedSpanMs).toBeGreaterThanOrEqual(9_500);
    // No second holds many more than the rate (late delayed jobs may bunch a little).
    const busiestSecond = Math.max(
      ...limitedAt.map((t) => limitedAt.filter((u) => u >= t && u < t + 1_000).length),
    );
    expect(busiestSecond).toBeLessThanOrEqual(2 * RATE);
    // The endpoint without a limit is not held back by the deliveries waiting for the other.
    expect(besideWaitingMs).toBeLessThan(2 * aloneMs + 2_000);
    expect(besideWaitingMs).toBeLessThan(limitedSpanMs / 2);

    // Waiting for the rate is not an attempt: each delivery succeeded at its first.
    const deliveries = await hp.db.prisma.delivery.findMany({ where: { endpointId: limitedId } });
    expect(deliveries).toHaveLength(EVENTS);
    expect(deliveries.every((d) => d.status === "SUCCEEDED" && d.attempts === 1)).toBe(true);
  }, 180_000);
});
