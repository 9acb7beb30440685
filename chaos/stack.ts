import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchApi, benchApi } from "../bench/graphql.ts";
import { createPrismaClient, type Db } from "../src/db/client.ts";
import { createWorkspace } from "../src/services/workspaces.ts";
import { type HookpostProcess, spawnHookpost } from "../test/support/processes.ts";
import {
  type PostgresServer,
  type RedisServer,
  serverDir,
  startPostgresServer,
  startRedisServer,
} from "./servers.ts";

/**
 * Settings of the Hookpost under test that differ from production defaults,
 * and why: each scenario ends in seconds, not hours. Thresholds (endpoint
 * disable, circuit) keep their defaults.
 */
export const CHAOS_ENV = {
  // Ten retries within about 30 s: a delivery that keeps failing for a scenario's length is lost.
  RETRY_SCHEDULE: "1s,1s,2s,2s,3s,3s,5s,5s,5s,5s",
  // A timed-out attempt's retry waits 1 s, not 60 (the timeout itself stays 10 s: shorter ones
  // made attempts time out on a loaded machine while the receiver was healthy).
  RETRY_MIN_AFTER_THROTTLE_MS: "1000",
  CIRCUIT_COOLDOWN_MS: "2000",
  // What Redis lost comes back within seconds.
  SWEEP_INTERVAL_MS: "2000",
  SWEEP_GRACE_MS: "10000",
};

export type ChaosStack = {
  redis: RedisServer;
  postgres: PostgresServer;
  /** The harness's own client of the run's database. */
  prisma: Db;
  /** The worker process running now. */
  worker(): HookpostProcess;
  /** SIGKILL: the worker ends at once, whatever it was doing. */
  killWorker(): Promise<void>;
  /** SIGTERM: the worker shuts down as it would on a deploy; resolves with how long that took. */
  terminateWorker(): Promise<number>;
  startWorker(): Promise<void>;
  /** A fresh workspace (one per scenario, so counts never mix) and an api client authenticated as it. */
  newWorkspace(name: string): Promise<{ id: string; api: BenchApi }>;
  /** Where the processes' logs are. */
  logDir: string;
  stop(): Promise<void>;
};

/**
 * Everything a chaos run needs of its own: a redis-server and a PostgreSQL
 * cluster in a temporary directory on free loopback ports, then Hookpost's
 * api and worker as separate processes started from the built bundle, as
 * `npm run api` and `npm run worker` start them. Logs go to `logDir`.
 */
export async function startChaosStack(logDir: string): Promise<ChaosStack> {
  const root = await mkdtemp(join(tmpdir(), "hookpost-chaos-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(root, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const redis = await startRedisServer(await serverDir(root, "redis"));
    cleanups.push(redis.stop);
    const postgres = await startPostgresServer(await serverDir(root, "postgres"));
    cleanups.push(postgres.stop);
    const env = {
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: "hp-chaos",
      OUTBOUND_ALLOW: "127.0.0.0/8",
      BOOTSTRAP_WORKSPACE: "false",
      ...CHAOS_ENV,
    };
    let started = 0;
    const startProcess = async (role: "api" | "worker") => {
      const echo = createWriteStream(join(logDir, `${role}-${++started}.log`));
      const child = await spawnHookpost(role, env, { echo });
      cleanups.push(() => child.stop(15_000).finally(() => echo.end()));
      return child;
    };
    // The api migrates the fresh database; the worker starts once it has.
    const api = await startProcess("api");
    let worker = await startProcess("worker");
    const prisma = createPrismaClient({ url: postgres.url, poolMax: 4 });
    cleanups.push(() => prisma.$disconnect());
    return {
      redis,
      postgres,
      prisma,
      worker: () => worker,
      async killWorker() {
        process.kill(worker.pid, "SIGKILL");
        await worker.stop();
      },
      async terminateWorker() {
        const began = Date.now();
        await worker.stop(60_000);
        return Date.now() - began;
      },
      async startWorker() {
        worker = await startProcess("worker");
      },
      async newWorkspace(name) {
        const { workspaceId, apiKey } = await createWorkspace(prisma, `chaos ${name}`);
        return { id: workspaceId, api: benchApi(api.url!, apiKey) };
      },
      logDir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
