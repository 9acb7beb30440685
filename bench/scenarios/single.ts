import { epochMs } from "../clock.ts";
import { cpuPer, measureCpu } from "../cpu.ts";
import type { Row } from "../report.ts";
import { benchEvent } from "../workload.ts";
import type { BenchContext } from "./context.ts";

/** Clients publishing at once, each one event per call, each call awaited before the next. */
const CLIENTS = 4;
const WARMUP_S = 2;
const SECONDS = 8;

/**
 * One event per publishEvent call, as a platform that publishes each email
 * event as it happens does: no batching on the client's side. Reports events
 * delivered per second (counted once every one of them was received) and
 * each process's CPU per event.
 */
export async function single(ctx: BenchContext): Promise<Row> {
  const label = "single";
  const { api } = await ctx.stack.newWorkspace(label);
  try {
    await api.createEndpoint({ url: `${ctx.receiver.healthyBase}/ok/${label}`, eventTypes: ["*"] });
    let published = 0;
    const publishFor = async (seconds: number) => {
      const end = epochMs() + seconds * 1_000;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (epochMs() < end) {
            await api.publishEvent(benchEvent());
            published += 1;
          }
        }),
      );
      await ctx.receiver.waitForCount(label, published);
    };
    ctx.progress(`${label}: warming up for ${WARMUP_S} s`);
    await publishFor(ctx.quick ? 0.5 : WARMUP_S);
    const before = published;
    ctx.progress(`${label}: ${CLIENTS} clients publishing one event per call for ${SECONDS} s`);
    const cpuUsed = await measureCpu(ctx.cpu);
    const start = epochMs();
    await publishFor(ctx.quick ? 1 : SECONDS);
    const seconds = (epochMs() - start) / 1_000;
    const count = published - before;
    const cpu = cpuPer(await cpuUsed(), count);
    await ctx.receiver.forget(label);
    return {
      scenario: label,
      count,
      seconds,
      perSecond: count / seconds,
      detail: { clients: CLIENTS, ...cpu },
    };
  } finally {
    await api.close();
  }
}
