import { DelayedError, type Processor, Worker } from "bullmq";
import type { Deps } from "../deps.ts";
import { createRedis } from "../redis.ts";
import { deliverAttempt } from "../services/dispatch.ts";
import { bullPrefix, type JobPayloads, type QueueName } from "./queues.ts";
import { maintenanceProcessor, replayProcessor, restoreBackgroundJobs } from "./replayProcessor.ts";
import { startSweeper } from "./sweeper.ts";

type Processors = { [Q in QueueName]?: Processor<JobPayloads[Q]> };

/**
 * Delivers one attempt. A failure that should be retried, or a delivery whose
 * receiver is slow with every connection busy, moves this same job (same id =
 * delivery id) to the delayed set: waits happen in Redis, never in a sleeping worker, so
 * a failing or slow endpoint does not slow healthy ones.
 */
export function deliveryProcessor(deps: Deps): Processor<JobPayloads["delivery"]> {
  return async (job, token, signal) => {
    const outcome = await deliverAttempt(deps, job.data.deliveryId, { signal });
    const delayMs =
      outcome.kind === "deferred"
        ? outcome.delayMs
        : outcome.kind === "attempted"
          ? outcome.retryDelayMs
          : null;
    if (delayMs !== null) {
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
  };
}

/**
 * The one place that starts workers: every queue's processor, error logging,
 * and the sweeper. `close()` stops taking jobs, lets in-flight ones finish,
 * then closes the Redis connections.
 */
export function startWorkers(deps: Deps, extra: Processors = {}): { close(): Promise<void> } {
  const processors: Processors = {
    delivery: deliveryProcessor(deps),
    replay: replayProcessor(deps),
    maintenance: maintenanceProcessor(deps),
    ...extra,
  };
  const connections = [createRedis(deps.config, "worker", deps.logger)];
  const workers: Worker[] = [];
  const { workerConcurrency, workers: deliveryWorkers } = deps.config.delivery;
  for (const [name, processor] of Object.entries(processors) as [QueueName, Processor][]) {
    const isDelivery = name === "delivery";
    // A BullMQ worker fetches its jobs one at a time; several fetch loops keep a busy process fed.
    // They share WORKER_CONCURRENCY exactly.
    const instances = isDelivery ? Math.min(deliveryWorkers, workerConcurrency) : 1;
    for (let i = 0; i < instances; i++) {
      const share = Math.floor(workerConcurrency / instances) + (i < workerConcurrency % instances ? 1 : 0);
      const worker = new Worker(name, processor, {
        connection: connections[0]!,
        prefix: bullPrefix(deps.config),
        concurrency: isDelivery ? share : 1,
        // Deliveries finish within the HTTP timeout; the lock only needs to outlast one attempt.
        lockDuration: Math.max(30_000, deps.config.delivery.timeoutMs * 3),
      });
      worker.on("failed", (job, err) => {
        if (err instanceof DelayedError) return;
        deps.logger.error({ err, queue: name, jobId: job?.id }, "job failed");
      });
      worker.on("error", (err) => deps.logger.error({ err, queue: name }, "worker error"));
      workers.push(worker);
    }
  }
  const sweeperRedis = createRedis(deps.config, "worker", deps.logger);
  connections.push(sweeperRedis);
  const sweeper = startSweeper(deps, sweeperRedis, () => restoreBackgroundJobs(deps));
  return {
    async close() {
      await sweeper.stop();
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
