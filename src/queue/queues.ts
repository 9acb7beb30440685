import { Queue } from "bullmq";
import type { Config } from "../config.ts";
import { JOB, type JobPayloads } from "../jobs.ts";
import type { Logger } from "../logger.ts";
import { type RedisClient, redisKeyPrefix } from "../redis.ts";
import { type BatchQueue, createBatchQueue } from "./batchQueue.ts";

export type Queues = {
  delivery: Queue<JobPayloads["delivery"]>;
  /** New deliveries, in batches (see batchQueue.ts). */
  batches: BatchQueue;
  replay: Queue<JobPayloads["replay"]>;
  maintenance: Queue<JobPayloads["maintenance"]>;
  close(): Promise<void>;
};

/**
 * Two queues carry deliveries. New deliveries (a publish, a replay's claim)
 * travel in batches on a plain Redis list (batchQueue.ts): one entry starts
 * the first attempts of up to DELIVERY_BATCH_MAX deliveries, so a publish
 * costs one Redis command, not a job per delivery. Every later run of a
 * delivery (a retry, a deferral, the sweeper's re-enqueue) is a BullMQ job of
 * its own whose id is the delivery id, removed as soon as it finishes: a
 * queued or delayed copy is never duplicated, and the same delivery can be
 * enqueued again later.
 */
export function createQueues(
  config: Pick<Config, "redis">,
  connection: RedisClient,
  logger: Pick<Logger, "warn">,
): Queues {
  const base = { connection, prefix: redisKeyPrefix(config), skipWaitingForReady: true };
  const delivery = new Queue<JobPayloads["delivery"]>("delivery", {
    ...base,
    // A delivery job that fails is not retried by BullMQ: retries follow the delivery's own
    // schedule, and anything lost is the sweeper's.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
  });
  const replay = new Queue<JobPayloads["replay"]>("replay", {
    ...base,
    defaultJobOptions: {
      removeOnComplete: true,
      removeOnFail: { count: 100 },
      attempts: 3,
      backoff: { type: "exponential", delay: 1_000 },
    },
  });
  const maintenance = new Queue<JobPayloads["maintenance"]>("maintenance", {
    ...base,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: 20 } },
  });
  // Without a listener BullMQ prints each Redis error's stack with console.error, many lines apiece.
  for (const queue of [delivery, replay, maintenance]) {
    queue.on("error", (err) => logger.warn({ queue: queue.name, error: err.message }, "queue error"));
  }
  return {
    delivery,
    batches: createBatchQueue(config, connection),
    replay,
    maintenance,
    async close() {
      await Promise.all([delivery.close(), replay.close(), maintenance.close()]);
    },
  };
}

/**
 * Adds jobs to a queue: one with `add`, several with `addBulk`. addBulk's
 * MULTI builds an ioredis pipeline, which copies every script BullMQ defines
 * onto itself: 0.5–0.8 ms of CPU per call, most of what enqueueing a small
 * publish cost the api.
 */
export async function addJobs<D>(queue: Queue<D>, jobs: Parameters<Queue<D>["addBulk"]>[0]): Promise<void> {
  const [only] = jobs;
  if (jobs.length === 1 && only) await queue.add(only.name, only.data, only.opts);
  else if (jobs.length > 1) await queue.addBulk(jobs);
}

export function deliveryJob(deliveryId: string, delayMs = 0, traceparent: string | null = null) {
  return {
    name: JOB.deliver,
    data: traceparent ? { deliveryId, traceparent } : { deliveryId },
    opts: { jobId: deliveryId, ...(delayMs > 0 ? { delay: delayMs } : {}) },
  };
}
