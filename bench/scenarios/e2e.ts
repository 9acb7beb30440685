import { epochMs } from "../clock.ts";
import { cpuPer, measureCpu } from "../cpu.ts";
import type { Row } from "../report.ts";
import { benchEvent, publishOpenLoop, quantile } from "../workload.ts";
import type { BenchContext } from "./context.ts";
import { latenciesMs, publishAndAwait, settleDatabase, until } from "./measure.ts";

/**
 * Throughput end to end: events published through the GraphQL api, each
 * delivered to one endpoint, every attempt persisted. Counts only once the
 * database holds every attempt and every delivery is SUCCEEDED.
 *
 * A third as many events go through first, unmeasured. After 1,000 (of
 * 30,000), the api and the worker had not yet settled at their steady cost:
 * the same run repeated after failing-mix cost the worker 9 µs less per
 * delivery and the api 6 µs less (means of five runs). After 10,000 the two
 * runs match (worker 120 and 121 µs, 140 and 142 on a slower minute). `scenario`
 * names the row, and the workspace and receiver path of this run, so that a
 * run can be repeated (see failing-mix).
 */
export async function e2e(ctx: BenchContext, ceilingPerS: number, scenario = "e2e"): Promise<Row> {
  const total = ctx.events;
  const warmup = Math.ceil(total / 3);
  const { id: workspaceId, api } = await ctx.stack.newWorkspace(scenario);
  const { prisma } = ctx.stack.db;
  try {
    await api.createEndpoint({
      url: `${ctx.receiver.healthyBase}/ok/${scenario}`,
      eventTypes: ["*"],
      ...(ctx.format && { format: ctx.format }),
    });
    ctx.progress(`${scenario}: warming up with ${warmup} events`);
    await publishAndAwait(
      ctx,
      api,
      Array.from({ length: warmup }, () => benchEvent()),
      { label: scenario, expected: warmup },
    );
    await settleDatabase(ctx);
    ctx.progress(`${scenario}: publishing ${total} events`);
    const cpuUsed = await measureCpu(ctx.cpu);
    const run = await publishAndAwait(
      ctx,
      api,
      Array.from({ length: total }, () => benchEvent()),
      { label: scenario, expected: total },
    );
    const delivered = epochMs();
    await until(
      async () => (await prisma.deliveryAttempt.count({ where: { workspaceId } })) >= warmup + total,
      `every ${scenario} attempt to be persisted`,
    );
    const persistLagMs = epochMs() - delivered;
    const cpu = cpuPer(await cpuUsed(), total);
    const succeeded = await prisma.delivery.count({ where: { workspaceId, status: "SUCCEEDED" } });
    const received = await ctx.receiver.count(scenario);
    const perSecond = total / run.seconds;
    return {
      scenario,
      count: total,
      seconds: run.seconds,
      perSecond,
      ofCeiling: perSecond / ceilingPerS,
      detail: {
        publishS: run.publishSeconds,
        persistLagMs,
        notSucceeded: warmup + total - succeeded,
        duplicates: received - warmup - total,
        ...cpu,
      },
    };
  } finally {
    await api.close();
  }
}

/**
 * Publish→receipt latency under open-loop load at `ratePerS` (half the
 * measured maximum): events go out every TICK_MS whatever happened before,
 * and each is timed from its scheduled send time. The same load runs for
 * WARMUP_S first, unmeasured: e2e's few large publishes leave the api's hot
 * code unoptimized for a hundred small ones a second, and V8 recompiling it
 * during the measured window took a fifth of the api's CPU (perf).
 */
const TICK_MS = 10;
const WARMUP_S = 3;

export async function latencyAt(
  ctx: BenchContext,
  ratePerS: number,
  seconds: number,
  scenario: string,
): Promise<Row> {
  const { api } = await ctx.stack.newWorkspace(scenario);
  try {
    await api.createEndpoint({
      url: `${ctx.receiver.healthyBase}/ok/${scenario}`,
      eventTypes: ["*"],
      ...(ctx.format && { format: ctx.format }),
    });
    const openLoop = async (forSeconds: number) => {
      const published = await publishOpenLoop(api, {
        ratePerS,
        seconds: forSeconds,
        tickMs: TICK_MS,
        event: () => benchEvent(),
        progress: (due, elapsedS) =>
          ctx.progress(`${scenario}: ${due} events due after ${elapsedS} of ${forSeconds} s`),
      });
      const { size } = published.scheduledAt;
      await ctx.receiver.waitForCount(scenario, size, {
        progress: (received) => ctx.progress(`${scenario}: ${received}/${size} delivered`),
      });
      return published;
    };
    ctx.progress(`${scenario}: warming up at ${Math.round(ratePerS)} events/s for ${WARMUP_S} s`);
    await openLoop(ctx.quick ? 1 : WARMUP_S);
    await ctx.receiver.forget(scenario);
    ctx.progress(`${scenario}: ${Math.round(ratePerS)} events/s open-loop for ${seconds} s`);
    const cpuUsed = await measureCpu(ctx.cpu);
    const { scheduledAt, publishMs } = await openLoop(seconds);
    const cpu = cpuPer(await cpuUsed(), scheduledAt.size);
    const latencies = latenciesMs(scheduledAt, await ctx.receiver.receipts(scenario));
    await ctx.receiver.forget(scenario);
    return {
      scenario,
      count: scheduledAt.size,
      seconds,
      perSecond: scheduledAt.size / seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      detail: {
        maxMs: quantile(latencies, 1),
        // Of the same events: from the scheduled send until publishEvents answered (stored and enqueued).
        publishP50Ms: quantile(publishMs, 0.5),
        publishP99Ms: quantile(publishMs, 0.99),
        tickMs: TICK_MS,
        ...cpu,
      },
    };
  } finally {
    await api.close();
  }
}
