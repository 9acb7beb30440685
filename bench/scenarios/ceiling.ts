import { Pool } from "undici";
import { formatRequest } from "../../src/delivery/formats/index.ts";
import { generateSecret } from "../../src/delivery/signing.ts";
import { newId } from "../../src/ids.ts";
import { USER_AGENT } from "../../src/version.ts";
import { epochMs } from "../clock.ts";
import { cpuPer, measureCpu } from "../cpu.ts";
import type { Row } from "../report.ts";
import { benchEvent } from "../workload.ts";
import type { BenchContext } from "./context.ts";

/** Keep-alive connections and requests in flight: enough to saturate a single-threaded node:http receiver. */
const CONNECTIONS = 32;

/**
 * R, the ceiling: how many signed ~1 KB webhook POSTs per second a plain
 * undici Pool gets through to the same receiver, with nothing else going on.
 */
export async function ceiling(ctx: BenchContext): Promise<Row> {
  const seconds = ctx.quick ? 1 : 10;
  const pool = new Pool(ctx.receiver.healthyBase, { connections: CONNECTIONS, pipelining: 1 });
  const secret = generateSecret();
  const { type, data } = benchEvent();
  const post = async () => {
    const now = new Date();
    const id = newId("event", now.getTime());
    const { headers, body } = formatRequest({
      format: "STANDARD_WEBHOOKS",
      event: { id, type, occurredAt: now, payload: data },
      timestampS: Math.floor(now.getTime() / 1_000),
      secrets: [secret],
      userAgent: USER_AGENT,
    });
    const res = await pool.request({ path: "/ok/ceiling", method: "POST", headers, body });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
  };
  const runFor = async (ms: number) => {
    const start = epochMs();
    let sent = 0;
    const loop = async () => {
      while (epochMs() - start < ms) {
        await post();
        sent++;
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, loop));
    return { sent, seconds: (epochMs() - start) / 1_000 };
  };
  try {
    ctx.progress(`ceiling: warming up, then ${seconds} s of POSTs`);
    await runFor(ctx.quick ? 1_000 : 3_000);
    const cpuUsed = await measureCpu(ctx.cpu);
    const { sent, seconds: elapsed } = await runFor(seconds * 1_000);
    const { "cpuUs.receiver": receiverUs, "cpuUs.bench": benchUs } = cpuPer(await cpuUsed(), sent);
    return {
      scenario: "ceiling",
      count: sent,
      seconds: elapsed,
      perSecond: sent / elapsed,
      detail: { connections: CONNECTIONS, "cpuUs.receiver": receiverUs!, "cpuUs.bench": benchUs! },
    };
  } finally {
    await pool.close();
    await ctx.receiver.forget("ceiling");
  }
}
