import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { startReceiverProcess } from "./receiverProcess.ts";
import { checkTargets, markdownTable, type Row, rowLine, type TargetCheck, targetsText } from "./report.ts";
import { sampleRss } from "./rss.ts";
import { ceiling } from "./scenarios/ceiling.ts";
import type { BenchContext } from "./scenarios/context.ts";
import { e2e, latencyAt } from "./scenarios/e2e.ts";
import { comparedWithE2e, failingMix } from "./scenarios/failingMix.ts";
import { fanout } from "./scenarios/fanout.ts";
import { inbound } from "./scenarios/inbound.ts";
import { quiet } from "./scenarios/quiet.ts";
import { single } from "./scenarios/single.ts";
import { soak } from "./scenarios/soak.ts";
import { REDIS_URL, startStack } from "./stack.ts";

/**
 * `npm run bench [-- --quick] [--events <n>] [--soak <s>] [--only <a,b>] [--format <F>] [--profile] [--out <file>]`
 *
 * Hookpost's delivery throughput against the raw ceiling R of the same
 * machine, in one run: a receiver process, a fresh database and Redis prefix,
 * Hookpost's api and worker as production runs them, then every scenario.
 * Rows go to stdout and to bench/results/<timestamp>.json; progress to stderr.
 */

export type BenchOptions = {
  quick: boolean;
  /** Events of the e2e throughput phase. */
  events: number;
  /** Seconds of steady load for the soak (worker RSS) scenario: five minutes, the target's run. */
  soakSeconds: number;
  /**
   * Scenarios to run (all by default). The ceiling always runs, and e2e does
   * whenever a scenario that is measured against its rate does.
   */
  only?: ReadonlySet<string>;
  /** Write `--cpu-prof` profiles of the api and worker to this directory. */
  profileDir?: string;
  /** The WebhookFormat of the e2e endpoints (STANDARD_WEBHOOKS when unset). */
  format?: string;
  out: string;
  progress(message: string): void;
};

export type BenchResult = { rows: Row[]; targets: TargetCheck[]; file: string };

/** Settings of the benchmarked Hookpost that differ from production defaults, and why. */
const BENCH_ENV = {
  // failing-mix: a hanging endpoint's attempts end after 2 s instead of 10 s.
  DELIVERY_TIMEOUT_MS: "2000",
  // failing-mix: failing endpoints keep failing for the whole run instead of being disabled after 20.
  ENDPOINT_FAILURE_THRESHOLD: "0",
};

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date();
  const rows: Row[] = [];
  const add = (row: Row) => {
    rows.push(row);
    process.stdout.write(`${rowLine(row)}\n`);
  };
  opts.progress("starting receiver, database, Redis prefix, hookpost api and worker");
  const receiver = await startReceiverProcess();
  const stack = await startStack({ env: BENCH_ENV, profileDir: opts.profileDir }).catch(async (err) => {
    await receiver.stop();
    throw err;
  });
  const workerRss = sampleRss(stack.workerPid);
  const redis = new Redis(REDIS_URL);
  const ctx: BenchContext = {
    quick: opts.quick,
    events: opts.events,
    stack,
    receiver,
    workerRss,
    cpu: {
      pids: { worker: stack.workerPid, api: stack.apiPid, receiver: receiver.pid, bench: process.pid },
      postgres: stack.db.prisma,
      redis,
    },
    format: opts.format,
    progress: opts.progress,
  };
  try {
    const wanted = (scenario: string) => !opts.only || opts.only.has(scenario);
    const r = await ceiling(ctx);
    add(r);
    if (wanted("quiet")) add(await quiet(ctx));
    if (wanted("single")) add(await single(ctx));
    if (["e2e", "e2e-latency", "failing-mix", "soak"].some(wanted)) {
      const e = await e2e(ctx, r.perSecond!);
      add(e);
      if (wanted("failing-mix")) {
        const mix = await failingMix(ctx);
        const after = await e2e(ctx, r.perSecond!, "e2e-after-mix");
        add(comparedWithE2e(mix, e, after));
        add(after);
      }
      const halfRate = e.perSecond! / 2;
      if (wanted("e2e-latency")) add(await latencyAt(ctx, halfRate, opts.quick ? 2 : 10, "e2e-latency"));
      if (wanted("fanout")) add(await fanout(ctx));
      if (wanted("soak")) add(await soak(ctx, halfRate, opts.soakSeconds));
    } else if (wanted("fanout")) add(await fanout(ctx));
    if (wanted("inbound")) add(await inbound(ctx));
    if (!opts.quick && wanted("live")) for (const row of await liveScenario(opts)) add(row);
    workerRss.stop();
    const rss = workerRss.summary();
    add({
      scenario: "worker-rss",
      count: rss.samples,
      seconds: (Date.now() - startedAt.getTime()) / 1_000,
      detail: { startMb: rss.startMb, peakMb: rss.peakMb, endMb: rss.endMb },
    });
  } finally {
    workerRss.stop();
    redis.disconnect();
    opts.progress("stopping");
    await stack.stop();
    await receiver.stop();
  }
  const targets = checkTargets(rows);
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(
    opts.out,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date(),
        options: {
          quick: opts.quick,
          events: opts.events,
          soakSeconds: opts.soakSeconds,
          only: opts.only ? [...opts.only] : null,
          profile: Boolean(opts.profileDir),
          format: opts.format ?? null,
        },
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
        commit: gitDescribe(),
        benchEnv: BENCH_ENV,
        rows,
        targets,
        workerRssSamples: workerRss.samples,
      },
      null,
      2,
    )}\n`,
  );
  return { rows, targets, file: opts.out };
}

/**
 * bench/live.ts (the live feed under many subscribers, on an api of its own)
 * joins full runs when it exists; it takes too long for --quick.
 */
async function liveScenario(opts: BenchOptions): Promise<Row[]> {
  const file = new URL("./live.ts", import.meta.url);
  if (!existsSync(file)) return [];
  const live = (await import(file.href)) as {
    runLiveScenario(o: { quick: boolean; progress: (msg: string) => void }): Promise<Row["detail"]>;
  };
  const figures = await live.runLiveScenario({ quick: opts.quick, progress: opts.progress });
  const figure = (name: string) =>
    typeof figures[name] === "number" ? (figures[name] as number) : undefined;
  return [
    {
      scenario: "live",
      count: figure("subscribers") ?? 0,
      perSecond: figure("messagesPerS"),
      p50Ms: figure("p50Ms"),
      p99Ms: figure("p99Ms"),
      detail: figures,
    },
  ];
}

function gitDescribe(): string | null {
  try {
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], {
      cwd,
      encoding: "utf8",
    }).trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      events: { type: "string" },
      soak: { type: "string" },
      only: { type: "string" },
      profile: { type: "boolean", default: false },
      format: { type: "string" },
      out: { type: "string" },
    },
  });
  const quick = values.quick ?? false;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const results = fileURLToPath(new URL("./results/", import.meta.url));
  const began = Date.now();
  const { rows, targets, file } = await runBench({
    quick,
    events: values.events ? Number(values.events) : quick ? 600 : 30_000,
    soakSeconds: values.soak ? Number(values.soak) : quick ? 2 : 300,
    only: values.only ? new Set(values.only.split(",")) : undefined,
    profileDir: values.profile ? `${results}profiles-${stamp}` : undefined,
    format: values.format,
    out: values.out ?? `${results}${stamp}${quick ? "-quick" : ""}.json`,
    progress: (message) =>
      process.stderr.write(`[bench ${((Date.now() - began) / 1_000).toFixed(1)}s] ${message}\n`),
  });
  process.stdout.write(`\n${markdownTable(rows)}\n\nTargets:\n${targetsText(targets)}\n\nResults: ${file}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
