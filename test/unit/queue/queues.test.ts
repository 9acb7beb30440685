import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import {
  addJobs,
  createQueues,
  DELIVERY_BATCH_MAX,
  deliveryBatchJobs,
  deliveryJob,
} from "../../../src/queue/queues.ts";
import { testEnv } from "../../support/hookpost.ts";
import { deleteRedisKeys } from "../../support/redis.ts";

/** Against a real Redis, under this file's own key prefix. */
describe("addJobs", () => {
  const config = loadConfig(testEnv());
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const queues = createQueues(config, connection);
  afterAll(async () => {
    await queues.close();
    connection.disconnect();
    await deleteRedisKeys(config.redis.url, config.redis.prefix);
  });

  it("enqueues one job or many, and nothing for none", async () => {
    await addJobs(queues.deliveryBatch, []);
    expect(await queues.deliveryBatch.count()).toBe(0);

    await addJobs(queues.deliveryBatch, deliveryBatchJobs(["dlv_a", "dlv_b"]));
    const ids = Array.from({ length: DELIVERY_BATCH_MAX * 2 + 1 }, (_, i) => `dlv_${i}`);
    await addJobs(queues.deliveryBatch, deliveryBatchJobs(ids));

    const waiting = await queues.deliveryBatch.getWaiting();
    const batches = waiting.map((job) => job.data.deliveryIds).sort((a, b) => a.length - b.length);
    expect(batches.map((b) => b.length)).toEqual([1, 2, DELIVERY_BATCH_MAX, DELIVERY_BATCH_MAX]);
    expect(batches.flat().sort()).toEqual(["dlv_a", "dlv_b", ...ids].sort());
  });

  it("keeps a single job's id and delay, and never duplicates a queued id", async () => {
    await addJobs(queues.delivery, [deliveryJob("dlv_delayed", 60_000)]);
    await addJobs(queues.delivery, [deliveryJob("dlv_delayed")]);
    await addJobs(queues.delivery, [deliveryJob("dlv_delayed"), deliveryJob("dlv_now")]);

    const delayed = await queues.delivery.getDelayed();
    expect(delayed.map((job) => job.id)).toEqual(["dlv_delayed"]);
    expect(delayed[0]?.opts.delay).toBe(60_000);
    expect((await queues.delivery.getWaiting()).map((job) => job.id)).toEqual(["dlv_now"]);
  });
});
