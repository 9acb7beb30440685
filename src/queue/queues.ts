import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Config } from "../config.ts";

/**
 * The one map from queue name to job payload, shared by producers (api) and
 * workers. Jobs carry ids only: the database is the source of truth, so every
 * job is safe to run twice.
 */
export type JobPayloads = {
  delivery: { deliveryId: string };
  replay: { replayId: string };
  maintenance: Record<string, never>;
};
export type QueueName = keyof JobPayloads;

export const JOB = {
  deliver: "deliver",
  runReplay: "run-replay",
  sweep: "sweep",
  prune: "prune",
} as const;

/** BullMQ key prefix; the hash tag keeps every key of a queue in one Redis Cluster slot. */
export function bullPrefix(config: Pick<Config, "redis">): string {
  return `{${config.redis.prefix}}`;
}

export type Queues = {
  delivery: Queue<JobPayloads["delivery"]>;
  replay: Queue<JobPayloads["replay"]>;
  maintenance: Queue<JobPayloads["maintenance"]>;
  close(): Promise<void>;
};

/**
 * Delivery jobs use the delivery id as job id and are removed as soon as they
 * finish, so the same delivery can be enqueued again later (replay, sweeper)
 * while a queued or delayed copy is never duplicated.
 */
export function createQueues(config: Pick<Config, "redis">, connection: Redis): Queues {
  const base = { connection, prefix: bullPrefix(config), skipWaitingForReady: true };
  const delivery = new Queue<JobPayloads["delivery"]>("delivery", {
    ...base,
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
  return {
    delivery,
    replay,
    maintenance,
    async close() {
      await Promise.all([delivery.close(), replay.close(), maintenance.close()]);
    },
  };
}

export function deliveryJob(deliveryId: string, delayMs = 0) {
  return {
    name: JOB.deliver,
    data: { deliveryId },
    opts: { jobId: deliveryId, ...(delayMs > 0 ? { delay: delayMs } : {}) },
  };
}
