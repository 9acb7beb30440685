import { DelayedError, type Processor, Worker } from "bullmq";
import { createDeliverySlots, type DeliverySlots, type Slot } from "../backpressure/deliverySlots.ts";
import { createOriginLines, type OriginLines } from "../backpressure/originLines.ts";
import { createBatcher } from "../db/batcher.ts";
import type { Deps } from "../deps.ts";
import type { JobPayloads, QueueName } from "../jobs.ts";
import { observeLineDrops, observeLineJoin, observeSlotSetAside } from "../metrics.ts";
import { createRedis, redisKeyPrefix } from "../redis.ts";
import { markDueAt, markWaiting } from "../services/deliveries.ts";
import { type DispatchResult, prepareAttempt, sendAttempt } from "../services/dispatch.ts";
import { currentTraceparent, traced, withTraceparent } from "../tracing/tracing.ts";
import { consumeBatches } from "./batchQueue.ts";
import { createEndpointRateLimit, type EndpointRateLimit } from "./endpointRateLimit.ts";
import { addJobs, deliveryJob } from "./queues.ts";
import { maintenanceProcessor, replayProcessor, restoreBackgroundJobs } from "./replayProcessor.ts";
import { startSweeper } from "./sweeper.ts";

type Processors = { [Q in QueueName]?: Processor<JobPayloads[Q]> };

/**
 * Batches a worker process runs at once. With two at once, batches waited in
 * Redis behind each other's round trips (p90 24 ms, against 6–11 ms with
 * eight). A batch waits for free slots, so a process whose slots are all busy
 * holds at most this many batches that other workers could run.
 */
const BATCHES_AT_ONCE = 8;

/** Deliveries a worker process keeps waiting for slow origins (ids only); more are deferred through Redis. */
const MAX_WAITING_FOR_ORIGINS = 10_000;

/**
 * Deliveries per origin that a line starts at once (each loads its delivery
 * before it is admitted): enough that a recovered origin's line drains at
 * thousands a second, few enough beside its connections
 * (src/delivery/httpSender.ts) that a line never queues many requests behind
 * a receiver that is still slow.
 */
const STARTS_AT_ONCE_PER_ORIGIN = 32;

/** 250–1,000 ms: spread out, so deferred deliveries do not all come back at once. */
function deferralMs(): number {
  return 250 + Math.floor(Math.random() * 750);
}

/** A delivery already in flight in this process runs again once that attempt is over. */
const IN_FLIGHT_HERE: DispatchResult = { kind: "deferred", delayMs: 1_000 };

type DeliveryRunner = {
  /** Runs the delivery jobs (a retry, a deferral, a re-enqueue: job id = delivery id). */
  processor: Processor<JobPayloads["delivery"]>;
  /** Starts the first attempts of a batch of new deliveries. */
  runBatch(deliveryIds: string[], traceparent: string | null): Promise<void>;
  lines: OriginLines;
};

/**
 * Runs a worker process's attempts, within its slots, whichever way they
 * come: batches of new deliveries, delivery jobs, or the lines of deliveries
 * waiting for a slow origin. A failure to retry, or a delivery whose
 * receiver is slow with every connection busy when its line is full, waits
 * in Redis, never in a sleeping worker, so a failing or slow endpoint does
 * not slow healthy ones.
 */
function createDeliveryRunner(
  deps: Deps,
  slots: DeliverySlots,
  rateLimit: EndpointRateLimit,
  isClosing: () => boolean,
): DeliveryRunner {
  const runAgain = createBatcher<{ deliveryId: string; delayMs: number; traceparent: string | null }, void>({
    maxBatch: 500,
    maxDelayMs: 0,
    runBatch: async (items) => {
      await addJobs(
        deps.queues.delivery,
        items.map((i) => deliveryJob(i.deliveryId, i.delayMs, i.traceparent)),
      );
      return items.map(() => undefined);
    },
  });
  const markRateLimited = createBatcher<{ deliveryId: string; dueAt: Date }, void>({
    maxBatch: 500,
    maxDelayMs: 0,
    runBatch: async (items) => {
      await markDueAt(deps.prisma, items);
      return items.map(() => undefined);
    },
  });
  /** Waits in Redis for its turn; its nextAttemptAt says when, so the sweeper leaves it be. */
  const rateLimited = (deliveryId: string, waitMs: number): DispatchResult => {
    markRateLimited.run({ deliveryId, dueAt: new Date(Date.now() + waitMs) }).catch((err: unknown) => {
      deps.logger.warn({ err }, "marking rate-limited deliveries failed; the sweeper may offer them early");
    });
    return { kind: "deferred", delayMs: waitMs };
  };
  const lines = createOriginLines({
    isSaturated: (origin) => deps.sender.isSaturated(origin),
    maxWaiting: MAX_WAITING_FOR_ORIGINS,
    startsAtOnce: STARTS_AT_ONCE_PER_ORIGIN,
    // Often enough that none is due for longer than the sweeper's grace while it waits here.
    holdEveryMs: deps.config.sweeper.graceMs / 3,
    hold: (deliveryIds) =>
      markWaiting(deps.prisma, deliveryIds).catch((err: unknown) =>
        deps.logger.warn({ err }, "marking deliveries in line failed; the sweeper may enqueue them too"),
      ),
    async start(deliveryId) {
      // Null: already in flight here; that attempt settles it.
      const slot = await slots.acquire(deliveryId);
      const traceparent = lineTraces.get(deliveryId);
      lineTraces.delete(deliveryId);
      // Started by whichever attempt freed a slot: its trace is the one it joined the line in.
      if (slot) await withTraceparent(traceparent, () => attempt(deliveryId, slot));
    },
  });

  /** While tracing is on, the trace each delivery waiting in a line belongs to. */
  const lineTraces = new Map<string, string>();
  const rememberLineTrace = (deliveryId: string) => {
    const traceparent = currentTraceparent();
    if (!traceparent) return;
    // Deliveries dropped from their line leave theirs behind: the map is bounded by starting afresh.
    if (lineTraces.size >= MAX_WAITING_FOR_ORIGINS) lineTraces.clear();
    lineTraces.set(deliveryId, traceparent);
  };

  /** Prepares the attempt, admits it to its origin, then sends it within its slot. */
  const scheduledAttempt = async (
    deliveryId: string,
    slot: Slot,
    signal?: AbortSignal,
  ): Promise<DispatchResult> => {
    const prepared = await prepareAttempt(deps, deliveryId, null);
    if ("done" in prepared) return prepared.done;
    const { delivery, dispatch } = prepared.ready;
    // Its endpoint's rate limit: it waits for its turn in Redis, its slot free for others. Asked
    // before the origin admits it: admitting and sending go in one step.
    if (delivery.endpoint.rateLimitPerSecond !== null) {
      const waitMs = await rateLimit.waitMs(delivery.endpoint, deliveryId);
      if (waitMs > 0) return rateLimited(deliveryId, waitMs);
    }
    const { url } = dispatch.request;
    // A slow receiver keeps its connections busy; queueing behind them would hold a worker
    // slot that a healthy endpoint could use, and eat into this attempt's own timeout.
    if (!lines.admits(url, deliveryId)) {
      return {
        kind: "deferred",
        delayMs: deferralMs(),
        saturated: { url, dueAt: delivery.nextAttemptAt, endpointId: delivery.endpointId },
      };
    }
    return sendAttempt(deps, prepared.ready, {
      signal,
      onSlow: () => {
        if (slot.setAside()) observeSlotSetAside();
      },
    });
  };

  /** A scheduled attempt in a span of its own, the worker job's (a child of the span that queued it). */
  const tracedAttempt = (deliveryId: string, slot: Slot, signal?: AbortSignal) =>
    traced("hookpost.delivery.job", "consumer", { "hookpost.delivery.id": deliveryId }, async (span) => {
      const outcome = await scheduledAttempt(deliveryId, slot, signal);
      span.setAttributes({ "hookpost.dispatch": outcome.kind });
      return outcome;
    });

  /** Frees an attempt's slot, so a delivery waiting in line may start. */
  const free = (slot: Slot) => {
    slot.release();
    lines.pump();
  };

  /**
   * How long until the delivery runs again through Redis, or null: this run
   * settled it, or it waits in its origin's line.
   */
  const redisDelayMs = (deliveryId: string, outcome: DispatchResult): number | null => {
    if (outcome.kind === "attempted") return outcome.retryDelayMs;
    if (outcome.kind === "skipped") {
      // The rest of its endpoint's line would each be loaded only to be skipped too.
      if (outcome.circuitOpenFor) observeLineDrops(lines.dropEndpoint(outcome.circuitOpenFor));
      return null;
    }
    const { saturated } = outcome;
    const dueAt = saturated?.dueAt?.getTime() ?? 0;
    if (saturated && lines.join(saturated.url, deliveryId, dueAt, saturated.endpointId)) {
      observeLineJoin();
      rememberLineTrace(deliveryId);
      return null;
    }
    return outcome.delayMs;
  };

  /**
   * An attempt with no job of its own: running it again takes a new job (job
   * id = delivery id), enqueued before the slot is freed.
   */
  const attempt = async (deliveryId: string, slot: Slot) => {
    try {
      const delayMs = redisDelayMs(deliveryId, await tracedAttempt(deliveryId, slot));
      if (delayMs !== null) await runAgain.run({ deliveryId, delayMs, traceparent: currentTraceparent() });
    } catch (err) {
      deps.logger.error({ err, deliveryId }, "delivery attempt failed; the sweeper will enqueue it again");
    } finally {
      free(slot);
    }
  };

  return {
    lines,
    async processor(job, token, signal) {
      const { deliveryId } = job.data;
      // Already waiting in line here (the sweeper's job, or a retry's, while it waited): it stays there.
      if (lines.has(deliveryId)) return;
      const slot = await slots.acquire(deliveryId);
      let outcome = IN_FLIGHT_HERE;
      if (slot) {
        try {
          outcome = await withTraceparent(job.data.traceparent, () =>
            tracedAttempt(deliveryId, slot, signal),
          );
        } finally {
          free(slot);
        }
      }
      const delayMs = redisDelayMs(deliveryId, outcome);
      if (delayMs !== null) {
        await job.moveToDelayed(Date.now() + delayMs, token);
        throw new DelayedError();
      }
    },
    /**
     * Starts each attempt as soon as a slot is free, and finishes once all
     * have started: a slow receiver in the batch holds its own slot, not the
     * batch. Should the process die mid-attempt, the delivery is still PENDING
     * in the database and the sweeper enqueues it again. A process shutting
     * down starts no more: the rest of the batch goes back to the queue as a
     * new batch.
     */
    async runBatch(deliveryIds, traceparent) {
      for (const [i, deliveryId] of deliveryIds.entries()) {
        const slot = await slots.acquire(deliveryId);
        if (isClosing()) {
          slot?.release();
          await deps.queues.batches.add(deliveryIds.slice(i), { first: true });
          return;
        }
        // Null: already in flight here (claimed again by a replay while its attempt runs). That
        // attempt sees the new claim when it records, and runs the delivery again itself.
        if (slot) void withTraceparent(traceparent, () => attempt(deliveryId, slot));
      }
    },
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
  const connections = [createRedis(deps.config, "worker", deps.logger)];
  const rateLimit = createEndpointRateLimit(connections[0]!, deps.config);
  const runner = createDeliveryRunner(deps, slots, rateLimit, () => closing);
  const processors: Processors = {
    delivery: runner.processor,
    replay: replayProcessor(deps),
    maintenance: maintenanceProcessor(deps),
    ...extra,
  };
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
        prefix: redisKeyPrefix(deps.config),
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
    run: runner.runBatch,
    logger: deps.logger,
  });
  const sweeperRedis = createRedis(deps.config, "worker", deps.logger);
  connections.push(sweeperRedis);
  const sweeper = startSweeper(deps, sweeperRedis, () => restoreBackgroundJobs(deps));
  return {
    async close() {
      closing = true;
      await sweeper.stop();
      // Deliveries waiting for slow origins go back to the front of the queue.
      await deps.queues.batches.add(runner.lines.close(), { first: true });
      await Promise.all([batches.close(), ...workers.map((w) => w.close())]);
      // Attempts that batches started outlive their jobs; they finish before Redis closes.
      await slots.drained();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
