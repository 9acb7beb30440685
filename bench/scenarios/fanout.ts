import { epochMs } from "../clock.ts";
import type { Row } from "../report.ts";
import { benchEvent, quantile } from "../workload.ts";
import type { BenchContext } from "./context.ts";
import { until } from "./measure.ts";

const ENDPOINTS = 100;
/** Events in the one publishEvents call that measures enqueueing at volume. */
const BULK_EVENTS = 10;

/**
 * One event to 100 endpoints, again and again: how long publishEvent takes to
 * store and enqueue all 100 deliveries (the mutation's latency; it returns
 * once they are in Redis), and how soon all 100 are delivered. Each repetition
 * starts on a quiet system, after the previous one was delivered.
 */
export async function fanout(ctx: BenchContext): Promise<Row> {
  const reps = ctx.quick ? 3 : 40;
  const { id: workspaceId, api } = await ctx.stack.newWorkspace("fanout");
  const { prisma } = ctx.stack.db;
  /** The worker records attempts a few milliseconds after sending them; a repetition starts once it has. */
  const untilRecorded = (deliveries: number) =>
    until(
      async () => (await prisma.deliveryAttempt.count({ where: { workspaceId } })) >= deliveries,
      "every fanout attempt to be recorded",
    );
  try {
    ctx.progress(`fanout: creating ${ENDPOINTS} endpoints`);
    for (let i = 0; i < ENDPOINTS; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          api.createEndpoint({ url: `${ctx.receiver.healthyBase}/ok/fanout/${i + j}`, eventTypes: ["*"] }),
        ),
      );
    }
    let expected = 0;
    const publishOne = async () => {
      const start = epochMs();
      const id = await api.publishEvent(benchEvent());
      const enqueueMs = epochMs() - start;
      expected += ENDPOINTS;
      await ctx.receiver.waitForCount("fanout", expected);
      await untilRecorded(expected);
      return { id, start, enqueueMs };
    };
    await publishOne(); // warm-up
    ctx.progress(`fanout: ${reps} events × ${ENDPOINTS} endpoints`);
    const runs = [];
    for (let i = 0; i < reps; i++) runs.push(await publishOne());

    const { ids, at } = await ctx.receiver.receipts("fanout");
    const lastReceipt = new Map<string, number>();
    ids.forEach((id, i) => {
      lastReceipt.set(id, Math.max(lastReceipt.get(id) ?? 0, at[i]!));
    });
    const deliverMs = runs.map((r) => lastReceipt.get(r.id)! - r.start);
    const enqueueMs = quantile(
      runs.map((r) => r.enqueueMs),
      0.5,
    );

    ctx.progress(`fanout: ${BULK_EVENTS} events × ${ENDPOINTS} endpoints in one call`);
    const bulkStart = epochMs();
    await api.publishEvents(Array.from({ length: BULK_EVENTS }, () => benchEvent()));
    const bulkMs = epochMs() - bulkStart;
    expected += BULK_EVENTS * ENDPOINTS;
    await ctx.receiver.waitForCount("fanout", expected);
    await ctx.receiver.forget("fanout");

    const medianDeliverMs = quantile(deliverMs, 0.5);
    return {
      scenario: "fanout",
      count: reps * ENDPOINTS,
      seconds: deliverMs.reduce((a, b) => a + b, 0) / 1_000,
      perSecond: (ENDPOINTS * 1_000) / medianDeliverMs,
      detail: {
        enqueueMsP50: enqueueMs,
        enqueuedPerS: (ENDPOINTS * 1_000) / enqueueMs,
        deliverAllMs: medianDeliverMs,
        bulkDeliveries: BULK_EVENTS * ENDPOINTS,
        bulkEnqueuedPerS: (BULK_EVENTS * ENDPOINTS * 1_000) / bulkMs,
      },
    };
  } finally {
    await api.close();
  }
}
