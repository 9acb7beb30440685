import { DelayedError, type Processor, Worker } from "bullmq";
import { createBatcher } from "../db/batcher.ts";
import type { Deps } from "../deps.ts";
import { createRedis } from "../redis.ts";
import { type DispatchResult, deliverAttempt } from "../services/dispatch.ts";
import { consumeBatches } from "./batchQueue.ts";
import { createDeliverySlots, type DeliverySlots } from "./deliverySlots.ts";
import { addJobs, bullPrefix, deliveryJob, type JobPayloads, type QueueName } from "./queues.ts";
import { maintenanceProcessor, replayProcessor, restoreBackgroundJobs } from "./replayProcessor.ts";
import { startSweeper } from "./sweeper.ts";

type Processors = { [Q in QueueName]?: Processor<JobPayloads[Q]> };

/** When a delivery should run again, or null when this run settled it. */
function runAgainInMs(outcome: DispatchResult): number | null {
  if (outcome.kind === "deferred") return outcome.delayMs;
  return outcome.kind === "attempted" ? outcome.retryDelayMs : null;
}

/**
 * Batches a worker process runs at once. With two at once, batches waited in
 * Redis behind each other's round trips (p90 24 ms, against 6–11 ms with
 * eight). A batch waits for free slots, so a process whose slots are all busy
 * holds at most this many batches that other workers could run.
 */
const BATCHES_AT_ONCE = 8;

/** A delivery already in flight in this process runs again once that attempt is over. */
const IN_FLIGHT_HERE: DispatchResult = { kind: "deferred", delayMs: 1_000 };

/**
 * Runs one delivery whose job id is its delivery id (a retry, a deferral, a
 * re-enqueue). A failure that should be retried, or a delivery whose
 * receiver is slow with every connection busy, moves this same job to the
 * delayed set: waits happen in Redis, never in a sleeping worker, so a
 * failing or slow endpoint does not slow healthy ones.
 */
export function deliveryProcessor(deps: Deps, slots: DeliverySlots): Processor<JobPayloads["delivery"]> {
  return async (job, token, signal) => {
    const release = await slots.acquire(job.data.deliveryId);
    let outcome = IN_FLIGHT_HERE;
    if (release) {
      try {
        outcome = await deliverAttempt(deps, job.data.deliveryId, { signal });
      } finally {
        release();
      }
    }
    const delayMs = runAgainInMs(outcome);
    if (delayMs !== null) {
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
  };
}

/**
 * Starts the first attempts of a batch of new deliveries, each as soon as a
 * slot is free, and finishes once all have started: a slow receiver in the
 * batch holds its own slot, not the batch. An attempt to run again becomes a
 * job of its own (job id = delivery id). Should the process die mid-attempt,
 * the delivery is still PENDING in the database and the sweeper enqueues it
 * again. A process shutting down starts no more: the rest of the batch goes
 * back to the queue as a new batch.
 */
export function deliveryBatchRunner(
  deps: Deps,
  slots: DeliverySlots,
  isClosing: () => boolean,
): (deliveryIds: string[]) => Promise<void> {
  const runAgain = createBatcher<{ deliveryId: string; delayMs: number }, void>({
    maxBatch: 500,
    maxDelayMs: 0,
    runBatch: async (items) => {
      await addJobs(
        deps.queues.delivery,
        items.map((i) => deliveryJob(i.deliveryId, i.delayMs)),
      );
      return items.map(() => undefined);
    },
  });
  const attempt = async (deliveryId: string, release: () => void) => {
    try {
      const delayMs = runAgainInMs(await deliverAttempt(deps, deliveryId));
      if (delayMs !== null) await runAgain.run({ deliveryId, delayMs });
    } catch (err) {
      deps.logger.error({ err, deliveryId }, "delivery attempt failed; the sweeper will enqueue it again");
    } finally {
      release();
    }
  };
  return async (deliveryIds) => {
    for (const [i, deliveryId] of deliveryIds.entries()) {
      const release = await slots.acquire(deliveryId);
      if (isClosing()) {
        release?.();
        await deps.queues.batches.add(deliveryIds.slice(i), { first: true });
        return;
      }
      // Null: already in flight here (claimed again by a replay while its attempt runs). That
      // attempt sees the new claim when it records, and runs the delivery again itself.
      if (release) void attempt(deliveryId, release);
    }
  };
}

/**
 * The one place that starts workers: every queue's processor, error logging,
 * and the sweeper. `close()` stops taking jobs, lets in-flight ones finish,
 * then closes the Redis connections.
 */
export function startWorkers(deps: Deps, extra: Processors = {}): { close(): Promise<void> } {
  let closing = false;
  const slots = createDeliverySlots(deps.config.delivery.workerConcurrency);
  const processors: Processors = {
    delivery: deliveryProcessor(deps, slots),
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
  const batches = consumeBatches({
    config: deps.config,
    control: connections[0]!,
    concurrency: BATCHES_AT_ONCE,
    run: deliveryBatchRunner(deps, slots, () => closing),
    logger: deps.logger,
  });
  const sweeperRedis = createRedis(deps.config, "worker", deps.logger);
  connections.push(sweeperRedis);
  const sweeper = startSweeper(deps, sweeperRedis, () => restoreBackgroundJobs(deps));
  return {
    async close() {
      closing = true;
      await sweeper.stop();
      await Promise.all([batches.close(), ...workers.map((w) => w.close())]);
      // Attempts that batches started outlive their jobs; they finish before Redis closes.
      await slots.drained();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
