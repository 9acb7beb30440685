import { epochMs, sleep } from "../clock.ts";
import type { BenchApi, EventInput } from "../graphql.ts";
import type { Receipts } from "../receiverProcess.ts";
import { publishInBatches } from "../workload.ts";
import type { BenchContext } from "./context.ts";

/** publishEvents batches: big enough to keep the api cheap per event, small enough to stream. */
const BATCH_SIZE = 250;
const PARALLEL_PUBLISHERS = 4;

/**
 * Publishes `inputs` and waits until the receiver has had `expected` more
 * requests for `label`. Time runs from the first publish to the last receipt.
 */
export async function publishAndAwait(
  ctx: BenchContext,
  api: BenchApi,
  inputs: EventInput[],
  opts: { label: string; expected: number },
): Promise<{ seconds: number; publishSeconds: number }> {
  const { label, expected } = opts;
  const before = await ctx.receiver.count(label);
  const start = epochMs();
  let publishedAt = start;
  await Promise.all([
    publishInBatches(api, inputs, { batchSize: BATCH_SIZE, parallel: PARALLEL_PUBLISHERS }).then(() => {
      publishedAt = epochMs();
    }),
    ctx.receiver.waitForCount(label, before + expected, {
      progress: (received) => ctx.progress(`${label}: ${received - before}/${expected} delivered`),
    }),
  ]);
  const { at } = await ctx.receiver.receipts(label);
  const lastAt = at.slice(before).reduce((a, b) => Math.max(a, b), start);
  return { seconds: (lastAt - start) / 1_000, publishSeconds: (publishedAt - start) / 1_000 };
}

/**
 * Puts PostgreSQL in the same state before each throughput measurement, so
 * that one scenario compares with another. VACUUM (ANALYZE): otherwise a
 * scenario pays for autovacuum cleaning up after the ones before it. Then a
 * CHECKPOINT: the bench writes about 6 KB of WAL per delivery, and PostgreSQL
 * starts a checkpoint every ~540 MB of it (max_wal_size 1 GB), about every
 * 25 s, which writes out thousands of pages while it lasts. Started here, the
 * next one is unlikely to fall inside the measured window; started anywhere,
 * it fell in some scenarios' windows and not in others'. A role that may not
 * checkpoint (PostgreSQL 15: superuser or pg_checkpoint) only vacuums.
 */
export async function settleDatabase(ctx: BenchContext): Promise<void> {
  const { prisma } = ctx.stack.db;
  ctx.progress("vacuuming and checkpointing the database");
  await prisma.$executeRawUnsafe("VACUUM (ANALYZE)");
  await prisma.$executeRawUnsafe("CHECKPOINT").catch((err: Error) => {
    ctx.progress(`no checkpoint before measuring: ${err.message}`);
  });
}

/** When each event was first received (a retry or duplicate receives it again). */
export function firstReceipts(receipts: Receipts): Map<string, number> {
  const firstReceipt = new Map<string, number>();
  receipts.ids.forEach((id, i) => {
    if (!firstReceipt.has(id)) firstReceipt.set(id, receipts.at[i]!);
  });
  return firstReceipt;
}

/** Send-to-receipt milliseconds of each scheduled event, from its first receipt. */
export function latenciesMs(scheduledAt: ReadonlyMap<string, number>, receipts: Receipts): number[] {
  const firstReceipt = firstReceipts(receipts);
  const latencies: number[] = [];
  for (const [id, at] of scheduledAt) {
    const received = firstReceipt.get(id);
    if (received !== undefined) latencies.push(received - at);
  }
  return latencies;
}

/** Polls `check` every 20 ms until it is true; throws after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
