import { randomBytes } from "node:crypto";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { createRedis, type RedisClient, redisKeyPrefix, redisNodes } from "../redis.ts";
import { currentTraceparent } from "../tracing/tracing.ts";

/**
 * New deliveries travel to workers in batches on a plain Redis list: a
 * publish pushes its batches with one LPUSH, a worker takes one with one
 * BRPOP. BullMQ spent three Lua scripts per batch (fetch, a second fetch
 * that found the queue empty, completion) and a wake-up round trip, about
 * 130 µs of Redis's CPU each, and a millisecond of the worker's and the api's
 * between them; a batch needs none of what they keep (locks, retries,
 * completion state): the database is the record. A batch a worker took and
 * did not start, because it died, is still PENDING in the database, and the
 * sweeper enqueues its deliveries after SWEEP_GRACE_MS.
 */

/** Enough to keep a worker's slots busy, small enough that several workers share one large publish. */
export const DELIVERY_BATCH_MAX = 100;

export type BatchQueue = {
  /**
   * Queues new deliveries, DELIVERY_BATCH_MAX to a batch; `first`: taken before
   * any other batch. While tracing is on, each batch carries the active span's traceparent.
   */
  add(deliveryIds: readonly string[], opts?: { first?: boolean }): Promise<void>;
  /** The batches waiting, next first. */
  waiting(): Promise<string[][]>;
  /** How many batches are waiting. */
  count(): Promise<number>;
};

function listKey(config: Pick<Config, "redis">): string {
  return `${redisKeyPrefix(config)}:delivery-batches`;
}

export function createBatchQueue(config: Pick<Config, "redis">, redis: RedisClient): BatchQueue {
  const key = listKey(config);
  return {
    async add(deliveryIds, opts = {}) {
      const traceparent = currentTraceparent();
      const batches: string[] = [];
      for (let i = 0; i < deliveryIds.length; i += DELIVERY_BATCH_MAX) {
        const ids = deliveryIds.slice(i, i + DELIVERY_BATCH_MAX);
        batches.push(JSON.stringify(traceparent ? { ids, traceparent } : ids));
      }
      if (batches.length === 0) return;
      // Workers take from the right: LPUSH queues behind what waits, RPUSH in front of it.
      if (opts.first) await redis.rpush(key, ...batches.reverse());
      else await redis.lpush(key, ...batches);
    },
    async waiting() {
      const batches = await redis.lrange(key, 0, -1);
      return batches.reverse().map((batch) => parseBatch(batch).deliveryIds);
    },
    count: () => redis.llen(key),
  };
}

/** A batch as pushed: its ids, as a bare array or (traced) with the traceparent of the span that queued it. */
function parseBatch(text: string): { deliveryIds: string[]; traceparent: string | null } {
  const batch = JSON.parse(text) as string[] | { ids: string[]; traceparent: string };
  return Array.isArray(batch)
    ? { deliveryIds: batch, traceparent: null }
    : { deliveryIds: batch.ids, traceparent: batch.traceparent };
}

export type BatchConsumer = {
  /** Takes no more batches, waits for the ones started to return, and closes its connection. */
  close(): Promise<void>;
};

/** After a failed BRPOP (Redis unreachable), wait this long before the next one. */
const RETRY_AFTER_ERROR_MS = 1_000;
/** A BRPOP returns empty after this long, so a consumer always gets to see that it is closing. */
const BLOCK_S = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `run` for each batch, at most `concurrency` at once, on a Redis
 * connection of its own (BRPOP blocks it). close() ends a waiting BRPOP with
 * CLIENT UNBLOCK, sent on `control`, which Redis answers with no batch taken:
 * shutting down never drops one. The connection has a name of its own, by
 * which close() finds its client id, whatever reconnects happened.
 */
export function consumeBatches(opts: {
  config: Pick<Config, "redis">;
  control: RedisClient;
  concurrency: number;
  run(deliveryIds: string[], traceparent: string | null): Promise<void>;
  logger: Pick<Logger, "error" | "warn">;
}): BatchConsumer {
  const { config, control, concurrency, logger } = opts;
  const key = listKey(config);
  const name = `hookpost:batches:${randomBytes(6).toString("hex")}`;
  const blocking = createRedis(config, "worker", logger, name);
  let closing = false;
  const running = new Set<Promise<void>>();
  let freed: (() => void) | null = null;

  const start = ({ deliveryIds, traceparent }: ReturnType<typeof parseBatch>) => {
    const done = opts
      .run(deliveryIds, traceparent)
      .catch((err: unknown) =>
        logger.error({ err }, "delivery batch failed; the sweeper will enqueue it again"),
      )
      .finally(() => {
        running.delete(done);
        freed?.();
      });
    running.add(done);
  };

  const loop = async () => {
    while (!closing) {
      if (running.size >= concurrency) {
        await new Promise<void>((resolve) => {
          freed = resolve;
        });
        freed = null;
        continue;
      }
      try {
        const popped = await blocking.brpop(key, BLOCK_S);
        if (popped) start(parseBatch(popped[1]));
      } catch (err) {
        if (closing) break;
        logger.error({ err }, "taking a delivery batch failed");
        await sleep(RETRY_AFTER_ERROR_MS);
      }
    }
  };
  const looping = loop();

  /**
   * CLIENT UNBLOCK for this consumer's connection, found by name on the Redis
   * it blocks on (in a cluster, the master holding the list); a no-op when it
   * is not blocked.
   */
  const unblock = async () => {
    for (const node of redisNodes(control)) {
      const clients = String(await node.client("LIST"));
      const id = clients
        .split("\n")
        .find((line) => line.includes(` name=${name} `))
        ?.match(/^id=(\d+) /)?.[1];
      if (id) await node.client("UNBLOCK", id);
    }
  };

  return {
    async close() {
      closing = true;
      freed?.();
      // An UNBLOCK that reaches Redis just before the BRPOP finds nothing to unblock: try again.
      const stopped = looping.then(() => true);
      while (!(await Promise.race([stopped, sleep(50).then(() => false)])))
        await unblock().catch(() => undefined);
      await Promise.all(running);
      await blocking.quit().catch(() => blocking.disconnect());
    },
  };
}
