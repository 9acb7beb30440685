import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type { Db } from "../src/db/client.ts";

/**
 * CPU time per process, to say where a scenario's time goes. On a busy
 * machine throughput moves with the neighbours' load; CPU per delivery moves
 * much less, so it is the figure to compare between runs.
 */

const TICKS_PER_S = 100; // USER_HZ on Linux

/** user + system CPU seconds a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name: state is the 1st, utime the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

export type CpuSources = {
  /** Named processes of the run (worker, api, receiver, this bench). */
  pids: Record<string, number>;
  /** The PostgreSQL backends serving the scratch database (they come and go with the pools). */
  postgres: Db;
  /** redis-server; shared with anything else using that Redis. */
  redis: Redis;
};

/**
 * Starts measuring; the returned function gives CPU milliseconds used since,
 * per process. PostgreSQL backends are summed as `postgres`; pools open and
 * close them, so the set is polled while measuring and a backend first seen
 * mid-way counts in full.
 */
export async function measureCpu(sources: CpuSources): Promise<() => Promise<Record<string, number>>> {
  const redisPid = Number(/process_id:(\d+)/.exec(await sources.redis.info("server"))?.[1]);
  const named = { ...sources.pids, ...(redisPid ? { redis: redisPid } : {}) };
  const before = new Map(Object.entries(named).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const backends = new Map<number, { first: number; last: number }>();
  const pollBackends = async (initial: boolean) => {
    const rows = await sources.postgres.$queryRaw<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    for (const { pid } of rows) {
      const now = cpuSeconds(pid);
      const seen = backends.get(pid);
      if (seen) seen.last = Math.max(seen.last, now);
      else backends.set(pid, { first: initial ? now : 0, last: now });
    }
  };
  await pollBackends(true);
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(() => pollBackends(false)).catch(() => {});
  }, 200);
  return async () => {
    clearInterval(timer);
    await polling;
    await pollBackends(false);
    const used: Record<string, number> = {};
    for (const [name, pid] of Object.entries(named))
      used[name] = (cpuSeconds(pid) - before.get(name)!) * 1_000;
    used.postgres = [...backends.values()].reduce((sum, b) => sum + (b.last - b.first) * 1_000, 0);
    return used;
  };
}

/** `cpuUs.<process>` figures: CPU microseconds per unit of work, for a row's detail. */
export function cpuPer(usedMs: Record<string, number>, units: number): Record<string, number> {
  const detail: Record<string, number> = {};
  for (const [name, ms] of Object.entries(usedMs)) detail[`cpuUs.${name}`] = Math.round((ms * 1_000) / units);
  return detail;
}
