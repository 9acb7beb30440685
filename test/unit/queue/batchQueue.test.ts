import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import {
  type BatchConsumer,
  consumeBatches,
  createBatchQueue,
  DELIVERY_BATCH_MAX,
} from "../../../src/queue/batchQueue.ts";
import { testEnv } from "../../support/hookpost.ts";
import { deleteRedisKeys } from "../../support/redis.ts";
import { waitFor } from "../../support/wait.ts";

const logger = { error() {}, warn() {} };

/** Against a real Redis, under this file's own key prefix. */
describe("the delivery batch queue", () => {
  const config = loadConfig(testEnv());
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const queue = createBatchQueue(config, redis);
  const consumers: BatchConsumer[] = [];
  const consume = (run: (ids: string[]) => Promise<void>, concurrency = 2) => {
    const consumer = consumeBatches({ config, control: redis, concurrency, run, logger });
    consumers.push(consumer);
    return consumer;
  };
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    await redis.del(`{${config.redis.prefix}}:delivery-batches`);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(config.redis.url, config.redis.prefix);
  });

  it("splits deliveries into batches, keeps their order, and puts a batch in front when asked", async () => {
    await queue.add([]);
    expect(await queue.count()).toBe(0);
    const ids = Array.from({ length: DELIVERY_BATCH_MAX * 2 + 1 }, (_, i) => `dlv_${i}`);
    await queue.add(ids);
    await queue.add(["dlv_later"]);
    await queue.add(["dlv_back_1", "dlv_back_2"], { first: true });
    expect(await queue.waiting()).toEqual([
      ["dlv_back_1", "dlv_back_2"],
      ids.slice(0, DELIVERY_BATCH_MAX),
      ids.slice(DELIVERY_BATCH_MAX, 2 * DELIVERY_BATCH_MAX),
      ids.slice(2 * DELIVERY_BATCH_MAX),
      ["dlv_later"],
    ]);
    expect(await queue.count()).toBe(5);
  });

  it("runs every batch once, never more at once than its concurrency", async () => {
    const seen: string[] = [];
    let running = 0;
    let most = 0;
    consume(async (ids) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push(...ids);
      running--;
    }, 3);
    const ids = Array.from({ length: 12 }, (_, i) => `dlv_${i}`);
    for (const id of ids) await queue.add([id]);
    await waitFor(async () => seen.length === ids.length, "every batch to run");
    expect(seen.sort()).toEqual([...ids].sort());
    expect(most).toBe(3);
    expect(await queue.count()).toBe(0);
  });

  it("an idle consumer closes without waiting out its BRPOP", async () => {
    const consumer = consume(async () => {});
    // Long enough for its first BRPOP to block.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const start = Date.now();
    await consumer.close();
    // A BRPOP left to time out takes 5 s.
    expect(Date.now() - start).toBeLessThan(2_500);
    await queue.add(["dlv_after"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await queue.waiting()).toEqual([["dlv_after"]]);
  });

  it("waits for the batches it started when closing, and takes nothing after", async () => {
    let finish: () => void = () => {};
    const started: string[][] = [];
    const consumer = consume(async (ids) => {
      started.push(ids);
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    await queue.add(["dlv_running"]);
    await waitFor(async () => started.length === 1, "the first batch to start");

    let closed = false;
    const closing = consumer.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    finish();
    await closing;

    // A BRPOP still blocked after close() would take this batch.
    await queue.add(["dlv_after"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started).toEqual([["dlv_running"]]);
    expect(await queue.waiting()).toEqual([["dlv_after"]]);
  });

  it("hands a batch to exactly one of several consumers", async () => {
    const seen: string[] = [];
    for (let c = 0; c < 3; c++)
      consume(async (ids) => {
        seen.push(...ids);
      });
    const ids = Array.from({ length: 300 }, (_, i) => `dlv_${i}`);
    await Promise.all(ids.map((id) => queue.add([id])));
    await waitFor(async () => seen.length >= ids.length, "every batch to run");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.sort()).toEqual([...ids].sort());
  });
});
