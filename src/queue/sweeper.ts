import type { Deps } from "../deps.ts";
import { type RedisClient, redisKeyPrefix } from "../redis.ts";
import { walkDueDeliveries } from "../services/deliveries.ts";
import { addJobs, deliveryJob } from "./queues.ts";

const SWEEP_BATCH = 1_000;
const SWEEP_MAX_PER_RUN = 100_000;

/**
 * Re-enqueues deliveries the database says are due but that may be missing
 * from Redis (flushed, failed over, an enqueue that failed after commit, a
 * worker killed mid-attempt). Job id = delivery id, so a retry still queued is
 * not duplicated. A new delivery whose batch is still queued after the
 * grace period (a backlog) gets a job too; whichever runs second finds it
 * settled, and one process never runs both at once. Deliveries of an
 * endpoint whose circuit is open wait for its probe (src/services/circuit.ts).
 * Returns how many deliveries it offered to the queue.
 */
export function sweepDueDeliveries(deps: Deps, now = new Date()): Promise<number> {
  return walkDueDeliveries(
    deps.prisma,
    { dueBy: new Date(now.getTime() - deps.config.sweeper.graceMs) },
    { chunkSize: SWEEP_BATCH, max: SWEEP_MAX_PER_RUN },
    (deliveryIds) =>
      addJobs(
        deps.queues.delivery,
        deliveryIds.map((id) => deliveryJob(id)),
      ),
  );
}

/**
 * Runs the sweep on a timer in every worker process. A Redis lock lets one
 * process sweep per interval. The timer lives in the process, not in a BullMQ
 * repeatable job, because a flushed Redis would take such a job with it.
 */
export function startSweeper(
  deps: Deps,
  redis: RedisClient,
  onTick?: () => Promise<void>,
): { stop(): Promise<void> } {
  const lockKey = `${redisKeyPrefix(deps.config)}:sweeper-lock`;
  const interval = deps.config.sweeper.intervalMs;
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      const got = await redis.set(lockKey, String(process.pid), "PX", Math.max(interval - 50, 50), "NX");
      if (got !== "OK") return;
      const offered = await sweepDueDeliveries(deps);
      if (offered > 0) deps.logger.info({ offered }, "sweeper re-enqueued due deliveries");
      await onTick?.();
    } catch (err) {
      deps.logger.warn({ err }, "sweep failed; will try again");
    }
  };
  const timer = setInterval(() => {
    if (!running)
      running = tick().finally(() => {
        running = null;
      });
  }, interval);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
