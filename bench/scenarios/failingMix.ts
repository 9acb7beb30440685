import { cpuPer, measureCpu } from "../cpu.ts";
import type { Row } from "../report.ts";
import { benchEvent } from "../workload.ts";
import type { BenchContext } from "./context.ts";
import { publishAndAwait, settleDatabase, until } from "./measure.ts";

const HEALTHY = 18;
/** 10% of the endpoints: one answers 500, one never answers (the delivery timeout ends each attempt). */
const FAILING = ["500", "hang"] as const;

/**
 * The e2e load spread over 20 endpoints (each event goes to exactly one, by
 * stream), two of which fail. The healthy ones get as many events as e2e's
 * single endpoint did, the failing ones ~11% on top; their throughput is
 * compared with e2e's by `comparedWithE2e`. Failing endpoints are never disabled here
 * (ENDPOINT_FAILURE_THRESHOLD=0 in the bench), so they fail for the whole run;
 * their circuits open as in production (CIRCUIT_FAILURE_THRESHOLD, 10 failures
 * in a row), after which their deliveries wait for a probe, 30 s later.
 */
export async function failingMix(ctx: BenchContext): Promise<Row> {
  const healthyTotal = ctx.events;
  const endpoints = [
    ...Array.from({ length: HEALTHY }, (_, i) => `${ctx.receiver.healthyBase}/ok/mix/${i}`),
    ...FAILING.map((behaviour) => `${ctx.receiver.failingBase[behaviour]}/${behaviour}/mix-${behaviour}`),
  ];
  const { id: workspaceId, api } = await ctx.stack.newWorkspace("failing-mix");
  const { prisma } = ctx.stack.db;
  // Event k goes to endpoint k mod 20 only.
  const events = (count: number) =>
    Array.from({ length: count }, (_, k) => benchEvent(`s${k % endpoints.length}`));
  const rounds = Math.ceil(healthyTotal / HEALTHY);
  try {
    for (const [i, url] of endpoints.entries()) {
      await api.createEndpoint({ url, eventTypes: ["*"], streams: [`s${i}`] });
    }
    ctx.progress("failing-mix: warming up");
    await publishAndAwait(ctx, api, events(endpoints.length * 5), { label: "mix", expected: HEALTHY * 5 });
    await settleDatabase(ctx);
    ctx.progress(
      `failing-mix: ${rounds * endpoints.length} events, ${rounds * FAILING.length} to failing endpoints`,
    );
    const cpuUsed = await measureCpu(ctx.cpu);
    const run = await publishAndAwait(ctx, api, events(rounds * endpoints.length), {
      label: "mix",
      expected: rounds * HEALTHY,
    });
    const counts = await ctx.receiver.counts();
    const cpu = cpuPer(await cpuUsed(), rounds * HEALTHY);
    const healthyDeliveries = HEALTHY * (rounds + 5);
    await until(
      async () =>
        (await prisma.delivery.count({ where: { workspaceId, status: "SUCCEEDED" } })) >= healthyDeliveries,
      "every healthy failing-mix delivery to be SUCCEEDED",
    );
    const perSecond = (rounds * HEALTHY) / run.seconds;
    return {
      scenario: "failing-mix",
      count: rounds * HEALTHY,
      seconds: run.seconds,
      perSecond,
      detail: {
        failing500: counts["mix-500"] ?? 0,
        failingHang: counts["mix-hang"] ?? 0,
        ...cpu,
      },
    };
  } finally {
    await api.close();
  }
}

/**
 * What the failing endpoints cost the healthy ones: failing-mix's healthy
 * deliveries per second against e2e's, measured once before it and once
 * after (the mean of the two). Against the run before it alone, the
 * comparison moved with the host, whose speed drifts either way from one
 * minute to the next, and with the tables, which every scenario makes larger
 * and slower to write. Bracketed, both drifts fall on each side alike.
 */
export function comparedWithE2e(mix: Row, before: Row, after: Row): Row {
  const e2ePerS = (before.perSecond! + after.perSecond!) / 2;
  return {
    ...mix,
    detail: {
      vsE2e: mix.perSecond! / e2ePerS,
      healthyCost: Math.max(0, 1 - mix.perSecond! / e2ePerS),
      e2eBeforePerS: before.perSecond!,
      e2eAfterPerS: after.perSecond!,
      ...mix.detail,
    },
  };
}
