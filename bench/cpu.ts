import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type { Db } from "../src/db/client.ts";

/**
 * CPU time per process, to say where a scenario's time goes. On a busy
 * machine throughput moves with the neighbours' load; CPU per delivery moves
 * much less, so it is the figure to compare between runs.
 */

const TICKS_PER_S = 100; // USER_HZ on Linux

/**
 * CPU seconds a process has used so far and how many times it was switched
 * out (each a wake-up later), summed over its threads (V8's GC and compiler
 * threads do a share of a Node process's work); zeros once it is gone. The
 * scheduler's own run time (schedstat, in ns) where the kernel keeps it: the
 * tick-sampled figures of /proc/<pid>/stat miss or double-count short bursts.
 */
function usageOf(pid: number): Sample {
  const total: Sample = { cpuS: 0, switches: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return total;
  }
  for (const tid of tids) {
    const task = `/proc/${pid}/task/${tid}`;
    try {
      const status = readFileSync(`${task}/status`, "utf8");
      total.switches +=
        Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0) +
        Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      total.cpuS += runSeconds(task);
    } catch {
      // A thread that exited meanwhile.
    }
  }
  return total;
}

function runSeconds(task: string): number {
  try {
    return Number(readFileSync(`${task}/schedstat`, "utf8").split(" ")[0]) / 1e9;
  } catch {
    // Fields after the parenthesised command name: state is the 1st, utime the 12th, stime the 13th.
    const stat = readFileSync(`${task}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  }
}

type Sample = { cpuS: number; switches: number };

/** CPU milliseconds and context switches per process over a measurement. */
export type Usage = { cpuMs: Record<string, number>; switches: Record<string, number> };

export type CpuSources = {
  /** Named processes of the run (worker, api, receiver, this bench). */
  pids: Record<string, number>;
  /** The PostgreSQL backends serving the scratch database (they come and go with the pools). */
  postgres: Db;
  /** redis-server; shared with anything else using that Redis. */
  redis: Redis;
};

/**
 * Starts measuring; the returned function gives each process's usage since.
 * PostgreSQL backends are summed as `postgres`; pools open and close them, so
 * the set is polled while measuring and a backend first seen mid-way counts
 * in full.
 */
export async function measureCpu(sources: CpuSources): Promise<() => Promise<Usage>> {
  const redisPid = Number(/process_id:(\d+)/.exec(await sources.redis.info("server"))?.[1]);
  const named = { ...sources.pids, ...(redisPid ? { redis: redisPid } : {}) };
  const before = new Map(Object.entries(named).map(([name, pid]) => [name, usageOf(pid)]));
  const zero: Sample = { cpuS: 0, switches: 0 };
  const backends = new Map<number, { first: Sample; last: Sample }>();
  const pollBackends = async (initial: boolean) => {
    const rows = await sources.postgres.$queryRaw<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    for (const { pid } of rows) {
      const now = usageOf(pid);
      const seen = backends.get(pid);
      // A backend that exited reads as zero; keep what it had used.
      if (seen) seen.last = now.cpuS >= seen.last.cpuS ? now : seen.last;
      else backends.set(pid, { first: initial ? now : zero, last: now });
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
    const usage: Usage = { cpuMs: {}, switches: {} };
    for (const [name, pid] of Object.entries(named)) {
      const now = usageOf(pid);
      usage.cpuMs[name] = (now.cpuS - before.get(name)!.cpuS) * 1_000;
      usage.switches[name] = now.switches - before.get(name)!.switches;
    }
    const sum = (f: (b: { first: Sample; last: Sample }) => number) =>
      [...backends.values()].reduce((total, b) => total + f(b), 0);
    usage.cpuMs.postgres = sum((b) => (b.last.cpuS - b.first.cpuS) * 1_000);
    usage.switches.postgres = sum((b) => b.last.switches - b.first.switches);
    return usage;
  };
}

/** `cpuUs.<process>` figures: CPU microseconds per unit of work, for a row's detail. */
export function cpuPer(usage: Usage, units: number): Record<string, number> {
  return perUnit("cpuUs", usage.cpuMs, (ms) => Math.round((ms * 1_000) / units));
}

/** `switches.<process>` figures: times each process was switched out per unit of work, to a tenth. */
export function switchesPer(usage: Usage, units: number): Record<string, number> {
  return perUnit("switches", usage.switches, (n) => Math.round((n * 10) / units) / 10);
}

function perUnit(prefix: string, values: Record<string, number>, scale: (value: number) => number) {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [`${prefix}.${name}`, scale(value)]),
  );
}
