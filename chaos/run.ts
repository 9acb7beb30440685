import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startChaosReceiver } from "./receiver.ts";
import { resultLine, resultsTable } from "./report.ts";
import { type ChaosContext, runScenario, type ScenarioPlan } from "./scenario.ts";
import { kill, sigterm } from "./scenarios/processFaults.ts";
import { circuit, flaky, hang, stream } from "./scenarios/receiverFaults.ts";
import { flush, postgresOutage, postgresRestart, redisRestart } from "./scenarios/storeFaults.ts";
import { CHAOS_ENV, startChaosStack } from "./stack.ts";
import type { ScenarioResult } from "./tally.ts";

/**
 * `npm run chaos [-- --quick] [--only <a,b>] [--out <file>]`
 *
 * Hookpost's delivery promise under faults, against real processes: its own
 * redis-server and PostgreSQL, Hookpost's api and worker as separate
 * processes, a receiver that records every webhook-id. Each scenario
 * publishes, injects its faults, waits (bounded) for everything to settle and
 * counts published / delivered / lost / duplicated and the endpoint's state.
 * Results go to stdout and chaos/results/<timestamp>.json (the processes'
 * logs beside it, in <timestamp>-logs/), progress to stderr. Exits 1 when a
 * scenario misses a criterion (docs/chaos.md), 2 when the run itself failed.
 */
const SCENARIOS: Record<string, (ctx: ChaosContext) => ScenarioPlan> = {
  flaky,
  circuit,
  hang,
  stream,
  sigterm,
  flush,
  "redis-restart": redisRestart,
  kill,
  "pg-restart": postgresRestart,
  "pg-outage": postgresOutage,
};

export async function runChaos(opts: {
  quick: boolean;
  only: readonly string[];
  out: string;
  logDir: string;
  progress(message: string): void;
}): Promise<ScenarioResult[]> {
  const startedAt = new Date();
  const commit = gitCommit();
  await mkdir(opts.logDir, { recursive: true });
  opts.progress(`starting redis-server, PostgreSQL, hookpost api and worker (logs in ${opts.logDir})`);
  const receiver = await startChaosReceiver();
  const stack = await startChaosStack(opts.logDir).catch(async (err) => {
    await receiver.close();
    throw err;
  });
  const results: ScenarioResult[] = [];
  let error: string | undefined;
  // Interrupted, the run still stops what it started (PostgreSQL runs detached from it).
  const onSignal = () => void stack.stop().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const ctx: ChaosContext = { stack, receiver, quick: opts.quick, progress: opts.progress };
    for (const name of opts.only) {
      opts.progress(`${name}: starting`);
      const result = await runScenario(ctx, SCENARIOS[name]!(ctx));
      results.push(result);
      process.stdout.write(`${resultLine(result)}\n`);
    }
  } catch (err) {
    error = (err as Error).stack ?? String(err);
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    opts.progress("stopping");
    await stack.stop();
    await receiver.close();
    // Written also when a scenario could not run, with what the others found.
    await writeResults(opts, { startedAt, commit, results, error });
  }
  return results;
}

async function writeResults(
  opts: { quick: boolean; only: readonly string[]; out: string },
  run: { startedAt: Date; commit: string | null; results: ScenarioResult[]; error: string | undefined },
): Promise<void> {
  const file = {
    startedAt: run.startedAt,
    finishedAt: new Date(),
    options: { quick: opts.quick, only: opts.only },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    commit: run.commit,
    chaosEnv: CHAOS_ENV,
    passed: run.error === undefined && run.results.every((r) => r.passed),
    error: run.error ?? null,
    results: run.results,
  };
  await writeFile(opts.out, `${JSON.stringify(file, null, 2)}\n`);
}

function gitCommit(): string | null {
  try {
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string" },
    },
  });
  const only = values.only ? values.only.split(",").map((s) => s.trim()) : Object.keys(SCENARIOS);
  const unknown = only.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario ${unknown.join(", ")}; known: ${Object.keys(SCENARIOS).join(", ")}\n`,
    );
    return 2;
  }
  const quick = values.quick ?? false;
  const stamp = `${new Date().toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}`;
  const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
  const out = values.out ?? `${resultsDir}${stamp}.json`;
  const logDir = `${out.replace(/\.json$/, "")}-logs`;
  const began = Date.now();
  const results = await runChaos({
    quick,
    only,
    out,
    logDir,
    progress: (message) =>
      process.stderr.write(`[chaos ${((Date.now() - began) / 1_000).toFixed(1)}s] ${message}\n`),
  });
  process.stdout.write(`\n${resultsTable(results)}\n\nResults: ${out}\n`);
  return results.every((r) => r.passed) ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`chaos failed: ${(err as Error).stack ?? err}\n`);
      process.exit(2);
    },
  );
}
