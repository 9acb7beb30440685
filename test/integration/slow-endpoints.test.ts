import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBatchQueue } from "../../src/queue/batchQueue.ts";
import { CreateEndpointDocument, PublishEventDocument, PublishEventsDocument } from "../generated/graphql.ts";
import { createTestDatabase } from "../support/db.ts";
import { receivedOf } from "../support/eventRequests.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { counterOf } from "../support/metrics.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { deleteRedisKeys } from "../support/redis.ts";
import { waitFor } from "../support/wait.ts";

/**
 * A receiver that hangs must not hold up deliveries to others: once its
 * origin is slow and its connections are all busy, its further deliveries
 * wait in line in the worker, holding no slot and no job in Redis, and each
 * starts once a connection is free.
 */
const GRACE_MS = 1_500;

/**
 * Four slots, two connections per origin: without the line, two hanging
 * attempts plus two more waiting for a connection would fill every slot.
 */
const TWO_CONNECTIONS = {
  WORKER_CONCURRENCY: "4",
  DELIVERY_WORKERS: "1",
  OUTBOUND_CONNECTIONS_PER_ORIGIN: "2",
};

/**
 * Hanging attempts never time out within a test, however slow the host: a test
 * ends them itself (receiver.answerHanging), so no clock decides an outcome.
 */
const HANGS_PAST_THE_TEST_MS = "120000";

const lineJoins = (hp: TestHookpost) => counterOf(hp, "hookpost_origin_line_joins_total");
const slotsSetAside = (hp: TestHookpost) => counterOf(hp, "hookpost_slots_set_aside_total");

/** Waits until `hp`'s worker has seen `count` more attempts go unanswered for long enough to set their slots aside. */
async function waitForSlowAttempts(hp: TestHookpost, before: number, count: number) {
  await waitFor(async () => (await slotsSetAside(hp)) >= before + count, `${count} attempts to be slow`);
}

describe("a slow endpoint", () => {
  let hp: TestHookpost;
  let slow: Receiver;
  let healthy: Receiver;
  let redis: Redis;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        ...TWO_CONNECTIONS,
        DELIVERY_TIMEOUT_MS: HANGS_PAST_THE_TEST_MS,
        RETRY_SCHEDULE: "100ms",
        // A sweeper that would take the waiting deliveries within the test, were they not held.
        SWEEP_GRACE_MS: String(GRACE_MS),
        SWEEP_INTERVAL_MS: "200",
      },
    });
    slow = await startReceiver(() => "hang");
    healthy = await startReceiver();
    redis = new Redis(hp.config.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await hp?.stop();
    await Promise.all([slow?.close(), healthy?.close()]);
  });

  it("does not hold up another endpoint's deliveries, and gets its own later", async () => {
    const { client, id: workspaceId } = await hp.newWorkspace();
    const joinsBefore = await lineJoins(hp);
    const setAsideBefore = await slotsSetAside(hp);
    const subscribe = async (url: string, eventTypes: string[]) =>
      (await client.ok(CreateEndpointDocument, { input: { url, eventTypes } })).createEndpoint.endpoint.id;
    const slowEndpointId = await subscribe(slow.url, ["email.bounced"]);
    await subscribe(healthy.url, ["email.delivered"]);
    const publish = async (type: string) =>
      (await client.ok(PublishEventDocument, { input: { type, data: {} } })).publishEvent.id;

    const publishSlow = (n: number) => Promise.all(Array.from({ length: n }, () => publish("email.bounced")));
    const slowEvents = await publishSlow(2);
    await waitFor(() => receivedOf(slow, ...slowEvents).length === 2, "both slow connections to be in use");
    await waitForSlowAttempts(hp, setAsideBefore, 2); // the receiver is now slow as well as busy
    slowEvents.push(...(await publishSlow(4)));
    const healthyEvent = await publish("email.delivered");
    await waitFor(() => receivedOf(healthy, healthyEvent).length === 1, "the healthy endpoint's delivery");

    // It arrived while the slow receiver still held its first two requests: no slow attempt has ended.
    expect(await hp.db.prisma.deliveryAttempt.count({ where: { endpointId: slowEndpointId } })).toBe(0);
    expect(receivedOf(slow, ...slowEvents)).toHaveLength(2);
    // The four waiting ones are neither retried nor deferred through Redis: none has a job. (The
    // two in flight may have one, on a host slow enough for the sweeper's grace to pass.)
    const waitingIds = await hp.db.prisma.delivery.findMany({
      where: { eventId: { in: slowEvents.slice(2) } },
      select: { id: true },
    });
    expect(waitingIds).toHaveLength(4);
    for (const { id } of waitingIds)
      expect(await redis.exists(`{${hp.config.redis.prefix}}:delivery:${id}`)).toBe(0);
    expect(await lineJoins(hp)).toBeGreaterThanOrEqual(joinsBefore + 4);

    // Waiting longer than the sweeper's grace, they are held (made due again, so the sweeper
    // leaves them alone) and still wait: not sent, not queued in Redis.
    const waiting = await waitFor(async () => {
      const rows = await hp.db.prisma.delivery.findMany({
        where: { workspaceId, eventId: { in: slowEvents.slice(2) } },
      });
      const heldPastGrace = rows.every((d) => d.nextAttemptAt!.getTime() > d.createdAt.getTime() + GRACE_MS);
      return heldPastGrace ? rows : null;
    }, "the waiting deliveries to be held past the sweeper's grace");
    expect(waiting.map((d) => d.status)).toEqual(["PENDING", "PENDING", "PENDING", "PENDING"]);
    for (const { id } of waiting)
      expect(await redis.exists(`{${hp.config.redis.prefix}}:delivery:${id}`)).toBe(0);
    expect(receivedOf(slow, ...slowEvents)).toHaveLength(2);

    // The deferred ones were only postponed: once the receiver answers, each is delivered.
    slow.setBehaviour(() => ({ status: 200 }));
    slow.answerHanging(200);
    await waitFor(
      async () =>
        (await hp.db.prisma.delivery.count({
          where: { workspaceId, eventId: { in: slowEvents }, status: "SUCCEEDED" },
        })) === 6,
      "every slow delivery to succeed",
    );
  });

  it("does not let endpoints that hang take every slot", async () => {
    // Two origins that hang, two connections each: their four attempts would hold all four slots
    // until the timeout. Each gives its slot back once its receiver has been silent a while.
    const hanging = [await startReceiver(() => "hang"), await startReceiver(() => "hang")];
    try {
      const { client } = await hp.newWorkspace();
      const setAsideBefore = await slotsSetAside(hp);
      const subscribe = async (url: string, eventTypes: string[]) =>
        (await client.ok(CreateEndpointDocument, { input: { url, eventTypes } })).createEndpoint.endpoint.id;
      const hangingIds = [
        await subscribe(hanging[0]!.url, ["email.opened"]),
        await subscribe(hanging[1]!.url, ["email.clicked"]),
      ];
      await subscribe(healthy.url, ["email.delivered"]);
      const publish = async (type: string) =>
        (await client.ok(PublishEventDocument, { input: { type, data: {} } })).publishEvent.id;
      const held = await Promise.all(
        ["email.opened", "email.opened", "email.clicked", "email.clicked"].map(publish),
      );
      await waitFor(
        () => hanging.every((receiver) => receivedOf(receiver, ...held).length === 2),
        "every slot to hold a hanging attempt",
      );

      const healthyEvent = await publish("email.delivered");
      await waitFor(() => receivedOf(healthy, healthyEvent).length === 1, "the healthy endpoint's delivery");
      // Delivered while all four hanging attempts were still in flight: none has ended.
      expect(await hp.db.prisma.deliveryAttempt.count({ where: { endpointId: { in: hangingIds } } })).toBe(0);
      expect(await slotsSetAside(hp)).toBeGreaterThanOrEqual(setAsideBefore + 1);
    } finally {
      // Their attempts fail at once, so stopping need not wait for the timeout.
      await Promise.all(hanging.map((receiver) => receiver.close()));
    }
  });

  it("hands its waiting deliveries back to the queue when the worker stops", async () => {
    const env = {
      ...TWO_CONNECTIONS,
      // The two hanging attempts end when the test answers them, once the worker is stopping.
      DELIVERY_TIMEOUT_MS: HANGS_PAST_THE_TEST_MS,
      RETRY_SCHEDULE: "1h",
      SWEEP_GRACE_MS: "600000",
    };
    // Its own database, which outlives the stopped Hookpost.
    const db = await createTestDatabase();
    const first = await startTestHookpost({ env, db });
    const hanging = await startReceiver(() => "hang");
    let stopped = false;
    try {
      const { client } = first.workspace;
      const endpoint = await client.ok(CreateEndpointDocument, {
        input: { url: hanging.url, eventTypes: ["*"] },
      });
      const publish = (n: number) =>
        Promise.all(
          Array.from({ length: n }, async () => {
            const published = await client.ok(PublishEventDocument, {
              input: { type: "email.sent", data: {} },
            });
            return published.publishEvent.id;
          }),
        );
      const setAsideBefore = await slotsSetAside(first);
      const joinsBefore = await lineJoins(first);
      const inFlight = await publish(2);
      await waitFor(() => receivedOf(hanging, ...inFlight).length === 2, "both connections to be in use");
      await waitForSlowAttempts(first, setAsideBefore, 2);
      const waiting = await publish(3);
      const batches = createBatchQueue(first.config, redis);
      await waitFor(async () => (await lineJoins(first)) >= joinsBefore + 3, "the three to wait in line");
      const stopping = first.stop({ keepRedisKeys: true });
      // Stopping hands the line back at once, then waits for the attempts in flight: end them.
      await waitFor(async () => (await batches.waiting()).flat().length === 3, "the line to be handed back");
      hanging.answerHanging(503);
      await stopping;
      stopped = true;

      // The hanging attempts ended (failed, retry in an hour); the three that waited went back, unsent.
      expect(receivedOf(hanging, ...waiting)).toEqual([]);
      const requeued = (await batches.waiting()).flat();
      const pending = await db.prisma.delivery.findMany({
        where: { endpointId: endpoint.createEndpoint.endpoint.id, status: "PENDING" },
        select: { id: true },
      });
      expect(pending).toHaveLength(3);
      expect(new Set(requeued)).toEqual(new Set(pending.map((d) => d.id)));
    } finally {
      if (!stopped) await first.stop();
      await deleteRedisKeys(first.config.redis.url, first.config.redis.prefix);
      await db.drop();
      await hanging.close();
    }
  });
});

describe("a busy endpoint that answers fast", () => {
  it("gets every delivery once, however deep its queue, none going round through Redis", async () => {
    // 100 attempts at once over two connections at 10 ms an answer: a request waits about half a
    // second for its connection. (Whether that counts as saturated depends on how fast this
    // host lets the receiver answer: src/delivery/httpSender.ts's own tests pin the rule down.)
    const hp = await startTestHookpost({
      env: {
        WORKER_CONCURRENCY: "100",
        DELIVERY_WORKERS: "1",
        OUTBOUND_CONNECTIONS_PER_ORIGIN: "2",
        DELIVERY_TIMEOUT_MS: "60000",
        // The default: the sweeper takes none of these, however long the run.
        SWEEP_GRACE_MS: "60000",
      },
    });
    const receiver = await startReceiver(() => ({ status: 200, delayMs: 10 }));
    const redis = new Redis(hp.config.redis.url);
    try {
      const { client, id: workspaceId } = hp.workspace;
      await client.ok(CreateEndpointDocument, { input: { url: receiver.url, eventTypes: ["*"] } });
      const inputs = Array.from({ length: 100 }, () => ({ type: "email.delivered", data: {} }));
      for (let i = 0; i < 3; i++) await client.ok(PublishEventsDocument, { inputs });
      await waitFor(
        async () =>
          (await hp.db.prisma.delivery.count({ where: { workspaceId, status: "SUCCEEDED" } })) === 300,
        "all 300 deliveries to succeed",
      );
      const deliveries = await hp.db.prisma.delivery.findMany({
        where: { workspaceId },
        select: { attempts: true },
      });
      expect(deliveries.every((d) => d.attempts === 1)).toBe(true);
      expect(receiver.requests).toHaveLength(300);
      // No delivery job was ever added, delayed or run: each went out from its batch, or from a line.
      expect(await redis.xlen(`{${hp.config.redis.prefix}}:delivery:events`)).toBe(0);
    } finally {
      redis.disconnect();
      await hp.stop();
      await receiver.close();
    }
  });
});
