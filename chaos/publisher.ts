import type { BenchApi } from "../bench/graphql.ts";
import { benchEvent } from "../bench/workload.ts";

const TICK_MS = 100;
const RETRY_AFTER_MS = 500;
/** A publish that has not answered by then is tried again (its idempotency keys make that safe). */
const CALL_TIMEOUT_MS = 10_000;

export type Publishing = {
  /** Ids of the events the api accepted, in order. */
  ids: string[];
  /** Publish calls that failed (and were tried again). */
  failedCalls: number;
  done: Promise<void>;
};

/**
 * Publishes `total` events at `perSecond`, a batch every TICK_MS, each event
 * with an idempotency key of its own. A failed call (an outage) is tried
 * again until `deadline`, so after an outage the load catches up; an event
 * counts as published once a call returned its id.
 */
export function publishPaced(
  api: BenchApi,
  opts: { key: string; total: number; perSecond: number; deadline: number },
): Publishing {
  const publishing: Publishing = { ids: [], failedCalls: 0, done: Promise.resolve() };
  const perTick = Math.max(1, Math.round((opts.perSecond * TICK_MS) / 1_000));
  const startedAt = Date.now();
  const publishBatch = async (from: number) => {
    const inputs = Array.from({ length: Math.min(perTick, opts.total - from) }, (_, i) => ({
      ...benchEvent(),
      idempotencyKey: `${opts.key}-${from + i}`,
    }));
    while (Date.now() < opts.deadline) {
      try {
        publishing.ids.push(...(await withTimeout(api.publishEvents(inputs), CALL_TIMEOUT_MS)));
        return;
      } catch {
        publishing.failedCalls++;
        await sleep(RETRY_AFTER_MS);
      }
    }
  };
  publishing.done = (async () => {
    for (let from = 0, tick = 0; from < opts.total; from += perTick, tick++) {
      await sleep(startedAt + tick * TICK_MS - Date.now());
      await publishBatch(from);
    }
  })();
  return publishing;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
