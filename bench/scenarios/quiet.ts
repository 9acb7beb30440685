import { epochMs, sleep } from "../clock.ts";
import { cpuPer, measureCpu, switchesPer } from "../cpu.ts";
import type { Row } from "../report.ts";
import { benchEvent, quantile } from "../workload.ts";
import type { BenchContext } from "./context.ts";
import { firstReceipts } from "./measure.ts";

/** Events per publish: the size of one open-loop tick of e2e-latency. */
const EVENTS = 3;
/** Long enough for every process to go idle between publishes. */
const PAUSE_MS = 20;

/**
 * What one small publish costs on a quiet system, end to end: a publishEvents
 * of a few events, awaited until all are received, then a pause, again and
 * again. Reports publish→last-receipt latency and, per publish, each
 * process's CPU and how often it was switched out. e2e-latency's open-loop
 * load is a hundred such publishes a second, so this says what that costs
 * before any queueing.
 */
export async function quiet(ctx: BenchContext): Promise<Row> {
  const reps = ctx.quick ? 10 : 200;
  const label = "quiet";
  const { api } = await ctx.stack.newWorkspace(label);
  try {
    await api.createEndpoint({ url: `${ctx.receiver.healthyBase}/ok/${label}`, eventTypes: ["*"] });
    let expected = 0;
    const publishOne = async () => {
      const start = epochMs();
      const ids = await api.publishEvents(Array.from({ length: EVENTS }, () => benchEvent()));
      expected += EVENTS;
      await ctx.receiver.waitForCount(label, expected);
      await sleep(PAUSE_MS);
      return { start, ids: new Set(ids) };
    };
    for (let i = 0; i < 10; i++) await publishOne();
    ctx.progress(`${label}: ${reps} publishes of ${EVENTS} events, one at a time`);
    const cpuUsed = await measureCpu(ctx.cpu);
    const runs = [];
    for (let i = 0; i < reps; i++) runs.push(await publishOne());
    const usage = await cpuUsed();
    const receipts = await ctx.receiver.receipts(label);
    await ctx.receiver.forget(label);
    const receivedAt = firstReceipts(receipts);
    const latencies = runs.map(
      (run) => Math.max(...[...run.ids].map((id) => receivedAt.get(id)!)) - run.start,
    );
    return {
      scenario: label,
      count: reps,
      seconds: latencies.reduce((a, b) => a + b, 0) / 1_000,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      detail: { eventsPerPublish: EVENTS, ...cpuPer(usage, reps), ...switchesPer(usage, reps) },
    };
  } finally {
    await api.close();
  }
}
