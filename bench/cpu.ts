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

type Snapshot = Map<string, number>;

async function snapshot(sources: CpuSources): Promise<Snapshot> {
  const seconds = new Map<string, number>();
  for (const [name, pid] of Object.entries(sources.pids)) seconds.set(name, cpuSeconds(pid));
  const backends = await sources.postgres.$queryRaw<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
  for (const { pid } of backends) seconds.set(`pg:${pid}`, cpuSeconds(pid));
  const info = await sources.redis.info("server");
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (redisPid) seconds.set("redis", cpuSeconds(redisPid));
  return seconds;
}

/**
 * Starts measuring; the returned function gives CPU milliseconds used since,
 * per process (PostgreSQL backends summed as `postgres`).
 */
export async function measureCpu(sources: CpuSources): Promise<() => Promise<Record<string, number>>> {
  const before = await snapshot(sources);
  return async () => {
    const after = await snapshot(sources);
    const used: Record<string, number> = {};
    for (const [key, seconds] of after) {
      // A backend first seen now was opened during the measurement: all its time counts.
      const delta = seconds - (before.get(key) ?? 0);
      const name = key.startsWith("pg:") ? "postgres" : key;
      used[name] = (used[name] ?? 0) + delta * 1_000;
    }
    return used;
  };
}

/** `cpuUs.<process>` figures: CPU microseconds per unit of work, for a row's detail. */
export function cpuPer(usedMs: Record<string, number>, units: number): Record<string, number> {
  const detail: Record<string, number> = {};
  for (const [name, ms] of Object.entries(usedMs)) detail[`cpuUs.${name}`] = Math.round((ms * 1_000) / units);
  return detail;
}
