import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import { addJobs, createQueues, deliveryJob } from "../../../src/queue/queues.ts";
import { testEnv } from "../../support/hookpost.ts";
import { deleteRedisKeys } from "../../support/redis.ts";
import { waitFor } from "../../support/wait.ts";

/** Against a real Redis, under this file's own key prefix. */
describe("addJobs", () => {
  const config = loadConfig(testEnv());
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  const queues = createQueues(config, connection, pino({ level: "silent" }));
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

describe("queues while Redis is unreachable", () => {
  it("log each error as one structured line, not console.error's stack", async () => {
    const printed = vi.spyOn(console, "error").mockImplementation(() => {});
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    // Port 1 on loopback: nothing listens, so every connection attempt fails.
    const connection = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: null, lazyConnect: false });
    connection.on("error", () => {});
    const queues = createQueues(loadConfig(testEnv()), connection, logger);
    try {
      await waitFor(() => lines.some((line) => line.includes('"queue error"')), "a logged queue error");
      expect(printed).not.toHaveBeenCalled();
      for (const line of lines) {
        expect(line.trimEnd().split("\n")).toHaveLength(1);
        expect(JSON.parse(line)).toMatchObject({ msg: "queue error", queue: expect.any(String) });
      }
    } finally {
      connection.disconnect();
      await queues.close().catch(() => {});
      printed.mockRestore();
    }
  });
});
