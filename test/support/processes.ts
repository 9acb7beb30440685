import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { BUNDLE, freshBundle } from "../../scripts/build.mjs";
import { sleep } from "./wait.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const LOG_LIMIT_CHARS = 200_000;
/** Generous: a process migrates as it starts, slow on a busy machine. */
const START_TIMEOUT_MS = 180_000;

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type HookpostProcess = {
  role: "api" | "worker";
  pid: number;
  /** The api's /graphql URL (null for a worker). */
  url: string | null;
  /** Where either answers /healthz, /readyz and /metrics. */
  base: string;
  /** Everything the process wrote (stdout and stderr), for printing when a test fails. */
  logs(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves with how it ended. */
  stop(graceMs?: number): Promise<Exit>;
};

/**
 * What `npm start` sets in a Hookpost process's environment (package.json):
 * two glibc malloc arenas instead of one per thread, about 40 MB less RSS for
 * a busy worker at no measurable cost.
 */
const PRODUCTION_ENV = { MALLOC_ARENA_MAX: "2" };
/**
 * And the node flags it runs with: a young generation of up to 2 × 32 MB
 * (V8's default is 2 × 16), so more of the objects of the hundreds of
 * attempts in flight die young instead of being copied into the old
 * generation, where GC was a fifth of the worker's CPU. 2 × 64 MB took the
 * worker past 300 MB in the 100k-event replay, for no CPU saving beyond the
 * noise over 32.
 */
const PRODUCTION_NODE_ARGS = ["--max-semi-space-size=32"];

let built: Promise<string> | undefined;

/**
 * Node's arguments for `hookpost <role>` as `npm start` runs it: the bundle
 * in dist/, rebuilt only when src/ changed (builds are atomic, so
 * processes building at once do not clash).
 */
async function hookpostArgs(role: "api" | "worker", nodeArgs: readonly string[] = []): Promise<string[]> {
  built ??= freshBundle();
  await built;
  return ["--enable-source-maps", ...PRODUCTION_NODE_ARGS, ...nodeArgs, BUNDLE, role];
}

/** A port nobody listens on right now (the api needs to be told its port: PORT=0 would not say which it got). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs `hookpost api` or `hookpost worker` as a real child process, as in
 * production, and waits until it is up (answers /readyz). `env` is added to
 * this process's environment (use testEnv() plus DATABASE_URL); logs are kept
 * at info level in a buffer, and also written to `opts.echo` when given.
 * `opts.nodeArgs` go to node (e.g. `--cpu-prof`).
 */
export async function spawnHookpost(
  role: "api" | "worker",
  env: Record<string, string>,
  opts: { nodeArgs?: readonly string[]; echo?: NodeJS.WritableStream } = {},
): Promise<HookpostProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, await hookpostArgs(role, opts.nodeArgs), {
    cwd: REPO,
    env: {
      ...process.env,
      ...PRODUCTION_ENV,
      ...env,
      LOG_LEVEL: "info",
      [role === "api" ? "PORT" : "WORKER_PORT"]: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    opts.echo?.write(chunk);
    output = (output + chunk.toString("utf8")).slice(-LOG_LIMIT_CHARS);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  // Should this process end without stopping it (a crash, an interrupted run), the child goes too.
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);
  const exited = new Promise<Exit>((resolve) =>
    child.once("exit", (code, signal) => {
      process.off("exit", killChild);
      resolve({ code, signal });
    }),
  );
  const proc: HookpostProcess = {
    role,
    pid: child.pid!,
    url: role === "api" ? `http://127.0.0.1:${port}/graphql` : null,
    base: `http://127.0.0.1:${port}`,
    logs: () => output,
    stop: (graceMs = 10_000) => stopChild(child, exited, graceMs),
  };
  const isUp = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
    await res?.body?.cancel();
    return res?.status === 200;
  };
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await isUp())) {
      if (child.exitCode !== null)
        throw new Error(`hookpost ${role} exited with ${child.exitCode} while starting`);
      if (Date.now() > deadline) throw new Error(`hookpost ${role} not up after ${START_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } catch (err) {
    await proc.stop(1_000);
    throw new Error(`${(err as Error).message}\n--- ${role} output ---\n${output}`);
  }
  return proc;
}

async function stopChild(child: ChildProcess, exited: Promise<Exit>, graceMs: number) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  return exited;
}
