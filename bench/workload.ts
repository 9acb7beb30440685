import { sampleData } from "../src/services/samples.ts";
import { epochMs, sleep } from "./clock.ts";
import type { BenchApi, EventInput } from "./graphql.ts";

/** Bytes of the webhook body every scenario sends (the `{"id","type","timestamp","data"}` envelope included). */
export const BODY_BYTES = 1_024;
const ENVELOPE_BYTES = 100; // {"id":"evt_…26 chars","type":"email.delivered","timestamp":"…Z","data":}

/** A realistic email.delivered event whose webhook body is about BODY_BYTES. */
export function benchEvent(stream?: string): EventInput {
  const data = sampleData("email.delivered");
  const base = JSON.stringify(data).length + ENVELOPE_BYTES;
  const padded = {
    ...data,
    metadata: { orderId: "1042", note: "x".repeat(Math.max(0, BODY_BYTES - base - 12)) },
  };
  return { type: "email.delivered", data: padded, ...(stream ? { stream } : {}) };
}

/**
 * Publishes `inputs` through publishEvents in batches, `parallel` requests in
 * flight, as a busy platform would. Resolves with every event id.
 */
export async function publishInBatches(
  api: BenchApi,
  inputs: EventInput[],
  opts: { batchSize: number; parallel: number; onBatch?: (published: number) => void },
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  let published = 0;
  const publisher = async () => {
    while (next < inputs.length) {
      const batch = inputs.slice(next, next + opts.batchSize);
      next += batch.length;
      ids.push(...(await api.publishEvents(batch)));
      published += batch.length;
      opts.onBatch?.(published);
    }
  };
  await Promise.all(Array.from({ length: opts.parallel }, publisher));
  return ids;
}

const PROGRESS_EVERY_MS = 10_000;

/**
 * Open-loop load: every `tickMs` it publishes the events due by then, without
 * waiting for earlier publishes, so a slow system cannot slow the load down
 * (no coordinated omission). Each event's send time is its scheduled tick,
 * not the moment the request actually left. Resolves with each event's send
 * time and, per event, how long its publishEvents took to answer from then.
 */
export async function publishOpenLoop(
  api: BenchApi,
  opts: {
    ratePerS: number;
    seconds: number;
    tickMs: number;
    event: () => EventInput;
    /** Told every PROGRESS_EVERY_MS how many events are due so far and after how many seconds. */
    progress?: (due: number, seconds: number) => void;
  },
): Promise<{ scheduledAt: Map<string, number>; publishMs: number[] }> {
  const scheduledAt = new Map<string, number>();
  const publishMs: number[] = [];
  const inFlight: Promise<void>[] = [];
  const start = epochMs();
  const ticks = Math.round((opts.seconds * 1_000) / opts.tickMs);
  const dueBy = (tick: number) => Math.floor((tick * opts.tickMs * opts.ratePerS) / 1_000);
  for (let tick = 0; tick < ticks; tick++) {
    const at = start + tick * opts.tickMs;
    const wait = at - epochMs();
    if (wait > 0) await sleep(wait);
    const elapsedMs = tick * opts.tickMs;
    if (tick > 0 && elapsedMs % PROGRESS_EVERY_MS === 0) opts.progress?.(dueBy(tick), elapsedMs / 1_000);
    const count = dueBy(tick + 1) - dueBy(tick);
    if (count === 0) continue;
    const batch = Array.from({ length: count }, opts.event);
    inFlight.push(
      api.publishEvents(batch).then((ids) => {
        const answeredIn = epochMs() - at;
        for (const id of ids) {
          scheduledAt.set(id, at);
          publishMs.push(answeredIn);
        }
      }),
    );
  }
  await Promise.all(inFlight);
  return { scheduledAt, publishMs };
}

/** The q-quantile (0–1) of `values`, by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const round = (value: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};
