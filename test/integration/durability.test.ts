import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBatchQueue } from "../../src/queue/batchQueue.ts";
import { CreateEndpointDocument, PublishEventsDocument } from "../generated/graphql.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { listDeliveries } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const EVENTS = 20;
/** Recovery waits for the sweeper and a few retry steps; on a loaded machine that takes a while. */
const RECOVERY_TIMEOUT_MS = 90_000;

/**
 * What a Redis flush does to one Hookpost, without touching the other test
 * files sharing this Redis: deletes every key of its prefix (BullMQ's
 * `{prefix}…` and the pub/sub / sweeper `prefix:…`) in one atomic script, as a
 * flush would — a key-by-key delete racing the worker could leave a job's hash
 * without its queue entry, a state no real flush produces. Returns the deleted keys.
 */
const DELETE_MATCHING = `
local deleted = {}
for _, pattern in ipairs(ARGV) do
  for _, key in ipairs(redis.call("KEYS", pattern)) do
    redis.call("DEL", key)
    deleted[#deleted + 1] = key
  end
end
return deleted`;

async function deleteKeysOf(redis: Redis, prefix: string): Promise<string[]> {
  return (await redis.eval(DELETE_MATCHING, 0, `{${prefix}}*`, `${prefix}:*`)) as string[];
}

async function publishBatch(client: GraphqlClient): Promise<string[]> {
  const { publishEvents } = await client.ok(PublishEventsDocument, {
    inputs: Array.from({ length: EVENTS }, (_, n) => ({ type: "email.delivered", data: { n } })),
  });
  return publishEvents.map((e) => e.id);
}

async function endpointFor(client: GraphqlClient, receiver: Receiver): Promise<string> {
  const { createEndpoint } = await client.ok(CreateEndpointDocument, {
    input: { url: receiver.url, eventTypes: ["email.*"] },
  });
  return createEndpoint.endpoint.id;
}

/** Waits until every delivery of the endpoint has SUCCEEDED, and each event reached the receiver with a 2xx. */
async function expectAllDelivered(
  client: GraphqlClient,
  endpointId: string,
  eventIds: string[],
  answeredOk: () => Set<string>,
) {
  await waitFor(
    async () => {
      const rows = await listDeliveries(client, { endpointId });
      return rows.length === eventIds.length && rows.every((d) => d.status === "SUCCEEDED");
    },
    "every delivery to succeed",
    RECOVERY_TIMEOUT_MS,
  );
  const received = answeredOk();
  expect(eventIds.filter((id) => !received.has(id))).toEqual([]);
}

describe("durability", () => {
  let redis: Redis;
  const receivers: Receiver[] = [];

  /** A receiver that fails (or hangs) until fixed, and remembers which events it accepted after that. */
  async function brokenReceiver(broken: "fail" | "hang") {
    let fixed = false;
    const acceptedIds = new Set<string>();
    const receiver = await startReceiver((req) => {
      if (!fixed) return broken === "hang" ? "hang" : { status: 503 };
      acceptedIds.add(String(req.headers["webhook-id"]));
      return { status: 200 };
    });
    receivers.push(receiver);
    return {
      receiver,
      fix: () => {
        fixed = true;
      },
      accepted: () => acceptedIds,
    };
  }

  beforeAll(() => {
    redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await redis?.quit();
  });

  describe("when Redis loses every queued delivery", () => {
    let hp: TestHookpost;
    beforeAll(async () => {
      // Long retry steps keep every delivery's job in Redis (delayed) until the keys are deleted.
      hp = await startTestHookpost({
        env: { RETRY_SCHEDULE: Array(10).fill("3s").join(","), ENDPOINT_FAILURE_THRESHOLD: "0" },
      });
    });
    afterAll(async () => {
      await hp?.stop();
    });

    it("the sweeper re-enqueues them from the database and none is lost", {
      timeout: 2 * RECOVERY_TIMEOUT_MS,
    }, async () => {
      const client = hp.workspace.client;
      const { receiver, fix, accepted } = await brokenReceiver("fail");
      const endpointId = await endpointFor(client, receiver);
      const eventIds = await publishBatch(client);
      const jobKey = (deliveryId: string) => `{${hp.config.redis.prefix}}:delivery:${deliveryId}`;
      const pending = await waitFor(
        async () => {
          const rows = await listDeliveries(client, { endpointId });
          if (rows.length !== EVENTS || rows.some((d) => d.status !== "RETRYING")) return null;
          // A retry's job is enqueued just after its attempt is recorded.
          return (await redis.exists(...rows.map((d) => jobKey(d.id)))) === EVENTS ? rows : null;
        },
        "every delivery to have failed once and have its retry queued",
        RECOVERY_TIMEOUT_MS,
      );

      const deleted = await deleteKeysOf(redis, hp.config.redis.prefix);
      // Each delivery's job (job id = delivery id) was in Redis and is gone now.
      const deletedJobs = new Set(deleted.map((key) => key.split(":").at(-1)));
      expect(pending.filter((d) => !deletedJobs.has(d.id))).toEqual([]);
      fix();

      await expectAllDelivered(client, endpointId, eventIds, accepted);
    });
  });

  describe("when a worker stops and another instance takes over its database", () => {
    let db: TestDatabase;
    const started: TestHookpost[] = [];
    const start = async (env: Record<string, string>) => {
      const hp = await startTestHookpost({ db, env });
      started.push(hp);
      return hp;
    };
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    // Each test stops its instances, so no sweeper of one test works on the next test's deliveries.
    afterEach(async () => {
      for (const hp of started.splice(0)) await hp.stop();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("a new instance on the same database delivers everything", {
      timeout: 2 * RECOVERY_TIMEOUT_MS,
    }, async () => {
      // Few concurrent attempts and a short timeout: some requests are held when the
      // worker stops, others have not started yet.
      const first = await start({ WORKER_CONCURRENCY: "4", DELIVERY_TIMEOUT_MS: "1000" });
      const { receiver, fix, accepted } = await brokenReceiver("hang");
      const endpointId = await endpointFor(first.workspace.client, receiver);
      const eventIds = await publishBatch(first.workspace.client);
      await waitFor(() => receiver.requests.length > 0, "requests held by the slow receiver");
      await first.stop();

      // Nothing was delivered; the database says what is left to do.
      expect(
        await db.prisma.delivery.count({ where: { endpointId, status: { in: ["PENDING", "RETRYING"] } } }),
      ).toBe(EVENTS);
      fix();
      const second = await start({});
      const client = second.client(`Bearer ${first.workspace.apiKey}`);
      await expectAllDelivered(client, endpointId, eventIds, accepted);
    });

    it("a worker stopped in the middle of a batch starts no more of it, puts the rest back in the queue, and the next worker sends each event once", {
      timeout: RECOVERY_TIMEOUT_MS,
    }, async () => {
      // Two attempts at a time, and no sweeper within the test: what the next worker
      // delivers, it can only have taken from the queue.
      const env = { WORKER_CONCURRENCY: "2", SWEEP_GRACE_MS: "600000" };
      const first = await start(env);
      const prefix = first.config.redis.prefix;
      const okIds = new Set<string>();
      const receiver = await startReceiver((req) => {
        okIds.add(String(req.headers["webhook-id"]));
        return { status: 200, delayMs: 150 };
      });
      receivers.push(receiver);
      const endpointId = await endpointFor(first.workspace.client, receiver);
      const eventIds = await publishBatch(first.workspace.client);
      await waitFor(() => receiver.requests.length > 0, "the batch's first requests");
      await first.stop({ keepRedisKeys: true });

      // What was in flight finished and is recorded; nothing more of the batch was started.
      const sent = receiver.requests.length;
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(EVENTS);
      expect(await db.prisma.deliveryAttempt.count({ where: { endpointId } })).toBe(sent);
      const requeued = (await createBatchQueue(first.config, redis).waiting()).flat();
      const pending = await db.prisma.delivery.findMany({
        where: { endpointId, status: "PENDING" },
        select: { id: true },
      });
      expect(new Set(requeued)).toEqual(new Set(pending.map((d) => d.id)));
      expect(requeued).toHaveLength(EVENTS - sent);

      const second = await start({ ...env, REDIS_PREFIX: prefix });
      const client = second.client(`Bearer ${first.workspace.apiKey}`);
      await expectAllDelivered(client, endpointId, eventIds, () => okIds);
      expect(receiver.requests).toHaveLength(EVENTS);
    });
  });
});
