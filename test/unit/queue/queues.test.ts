import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import { addJobs, createQueues, deliveryJob } from "../../../src/queue/queues.ts";
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
    await addJobs(queues.delivery, []);
    expect(await queues.delivery.count()).toBe(0);
    await addJobs(queues.delivery, [deliveryJob("dlv_one")]);
    await addJobs(queues.delivery, [deliveryJob("dlv_two"), deliveryJob("dlv_three")]);
    const waiting = await queues.delivery.getWaiting();
    expect(waiting.map((job) => job.data.deliveryId).sort()).toEqual(["dlv_one", "dlv_three", "dlv_two"]);
    await queues.delivery.obliterate({ force: true });
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
