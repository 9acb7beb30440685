import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, chown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "../test/support/processes.ts";
import { waitFor } from "../test/support/wait.ts";

const run = promisify(execFile);
const PG_BIN = process.env.CHAOS_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const START_TIMEOUT_MS = 60_000;

export type RedisServer = {
  url: string;
  /** FLUSHALL: every key of every prefix is gone. */
  flushAll(): Promise<void>;
  /** SHUTDOWN (the append-only file is synced), then the same server starts again on the same port. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A redis-server of the run's own on a free loopback port, its files under
 * `dir`: append-only persistence, so a restart keeps the queues (a flush is
 * the scenario that loses them), and noeviction as production runs it.
 */
export async function startRedisServer(dir: string): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", "yes", "--maxmemory-policy", "noeviction", "--logfile", join(dir, "redis.log"));
  let child: ChildProcess;
  const start = async () => {
    child = spawn("redis-server", args, { stdio: "ignore" });
    await waitFor(() => ping(url), `redis-server on port ${port}`, START_TIMEOUT_MS);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  await start();
  return {
    url,
    async flushAll() {
      const redis = new Redis(url);
      await redis.flushall();
      redis.disconnect();
    },
    async restart(downMs) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    stop,
  };
}

async function ping(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused until the server listens: connect() rejects, and the error event needs a listener too.
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export type PostgresServer = {
  url: string;
  /** Stops the server at once, as a crash would: no checkpoint, every session cut. */
  crash(): Promise<void>;
  /** Starts it again after a crash (it recovers from its write-ahead log). */
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A PostgreSQL 15 cluster of the run's own (initdb into `dir`, a free
 * loopback port, trust auth). initdb and the server refuse to run as root, so
 * as root they run as the `postgres` user.
 */
export async function startPostgresServer(dir: string): Promise<PostgresServer> {
  const port = await freePort();
  const data = join(dir, "pgdata");
  const asOwner = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asOwner.length > 0) await chown(dir, await postgresUid(), 0);
  const pg = (tool: string, ...args: string[]) => {
    const [command, ...rest] = [...asOwner, join(PG_BIN, tool), ...args];
    return run(command!, rest, { timeout: START_TIMEOUT_MS });
  };
  await pg("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8");
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const log = join(dir, "postgres.log");
  const start = () => pg("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start");
  await start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async crash() {
      await pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop");
    },
    async start() {
      await start();
    },
    async stop() {
      await pg("pg_ctl", "-D", data, "-m", "fast", "-w", "stop").catch(() => undefined);
    },
  };
}

async function postgresUid(): Promise<number> {
  const { stdout } = await run("id", ["-u", "postgres"]);
  return Number(stdout.trim());
}

/** A scratch directory for one server under the run's `root`, which the `postgres` user may enter. */
export async function serverDir(root: string, name: string): Promise<string> {
  await chmod(root, 0o755);
  const dir = join(root, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
