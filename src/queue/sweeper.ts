import type { Redis } from "ioredis";
import { queryRows } from "../db/client.ts";
import { Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { addJobs, deliveryJob } from "./queues.ts";

const SWEEP_BATCH = 1_000;
const SWEEP_MAX_PER_RUN = 100_000;

type Due = { id: string; nextAttemptAt: Date };

/**
 * Re-enqueues deliveries the database says are due but that may be missing
 * from Redis (flushed, failed over, an enqueue that failed after commit, a
 * worker killed mid-attempt). Job id = delivery id, so a retry still queued is
 * not duplicated. A new delivery whose batch is still queued after the
 * grace period (a backlog) gets a job too; whichever runs second finds it
 * settled, and one process never runs both at once. Returns how many
 * deliveries it offered to the queue.
 */
export async function sweepDueDeliveries(deps: Deps, now = new Date()): Promise<number> {
  const dueBefore = new Date(now.getTime() - deps.config.sweeper.graceMs);
  let offered = 0;
  let after: Due | null = null;
  while (offered < SWEEP_MAX_PER_RUN) {
    // Raw SQL: Prisma compiles a query shape the first time it runs, on the event loop, and a
    // worker's first sweep would stall every attempt in flight while it did.
    const batch: Due[] = await queryRows<Due>(
      deps.prisma,
      Prisma.sql`
        SELECT "id", "nextAttemptAt" FROM "Delivery"
        WHERE "status" IN ('PENDING', 'RETRYING') AND "nextAttemptAt" <= ${dueBefore}::timestamp(3)
          ${after ? Prisma.sql`AND ("nextAttemptAt", "id") > (${after.nextAttemptAt}::timestamp(3), ${after.id})` : Prisma.empty}
        ORDER BY "nextAttemptAt", "id"
        LIMIT ${SWEEP_BATCH}`,
    );
    if (batch.length === 0) break;
    await addJobs(
      deps.queues.delivery,
      batch.map((d) => deliveryJob(d.id)),
    );
    offered += batch.length;
    after = batch[batch.length - 1]!;
    if (batch.length < SWEEP_BATCH) break;
  }
  return offered;
}

/**
 * Runs the sweep on a timer in every worker process. A Redis lock lets one
 * process sweep per interval. The timer lives in the process, not in a BullMQ
 * repeatable job, because a flushed Redis would take such a job with it.
 */
export function startSweeper(
  deps: Deps,
  redis: Redis,
  onTick?: () => Promise<void>,
): { stop(): Promise<void> } {
  const lockKey = `${deps.config.redis.prefix}:sweeper-lock`;
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
