import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { request } from "undici";
import { bullPrefix } from "../src/queue/queues.ts";
import { createWorkspace } from "../src/services/workspaces.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/db.ts";
import { freePort, hookpostArgs, PRODUCTION_ENV } from "../test/support/processes.ts";
import { sleep } from "./clock.ts";
import { type BenchApi, benchApi } from "./graphql.ts";
import { stopChild } from "./receiverProcess.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export type Stack = {
  db: TestDatabase;
  apiPid: number;
  workerPid: number;
  /** A fresh workspace (one per scenario, so counts never mix) and an api client authenticated as it. */
  newWorkspace(name: string): Promise<{ id: string; api: BenchApi }>;
  stop(): Promise<void>;
};

/**
 * Hookpost as it runs in production: separate `api` and `worker` processes
 * run from the built bundle as `npm start` runs it, on a scratch PostgreSQL database and a Redis key
 * prefix of their own, both removed by stop().
 */
export async function startStack(opts: {
  env?: Record<string, string>;
  /** Directory for `--cpu-prof` profiles of both processes; written when they exit. */
  profileDir?: string;
}): Promise<Stack> {
  const db = await createTestDatabase();
  const prefix = `hp-bench-${randomBytes(5).toString("hex")}`;
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    OUTBOUND_ALLOW: "127.0.0.0/8",
    BOOTSTRAP_WORKSPACE: "false",
    ...opts.env,
  };
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c, 15_000)));
    await db.drop();
    await deleteRedisKeys(prefix);
  };
  try {
    // The api migrates the fresh database; the worker starts once it has.
    const api = await startRole("api", env, opts.profileDir);
    children.push(api);
    await waitForReady(`http://127.0.0.1:${port}/readyz`, api);
    const worker = await startRole("worker", env, opts.profileDir);
    children.push(worker);
    await waitForWorker(prefix, worker);
    const graphqlUrl = `http://127.0.0.1:${port}/graphql`;
    return {
      db,
      apiPid: api.pid!,
      workerPid: worker.pid!,
      async newWorkspace(name) {
        const { workspaceId, apiKey } = await createWorkspace(db.prisma, `bench ${name}`);
        return { id: workspaceId, api: benchApi(graphqlUrl, apiKey) };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startRole(
  role: "api" | "worker",
  env: Record<string, string>,
  profileDir?: string,
): Promise<ChildProcess> {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}/${role}`] : [];
  // Hookpost's logs go to our stderr, next to the progress lines; stdout carries only results.
  return spawn(process.execPath, await hookpostArgs(role, profile), {
    cwd: REPO,
    env: { ...process.env, ...PRODUCTION_ENV, ...env },
    stdio: ["ignore", 2, 2],
  });
}

async function waitForReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hookpost api exited with ${child.exitCode} while starting`);
    try {
      const res = await request(url);
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`hookpost api not ready at ${url} after ${timeoutMs} ms`);
}

/** Until the worker's BullMQ delivery worker is connected (it names its Redis connection). */
async function waitForWorker(prefix: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue("delivery", {
    connection,
    prefix: bullPrefix({ redis: { url: REDIS_URL, prefix } }),
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while ((await queue.getWorkersCount()) === 0) {
      if (child.exitCode !== null)
        throw new Error(`hookpost worker exited with ${child.exitCode} while starting`);
      if (Date.now() > deadline) throw new Error(`hookpost worker not connected after ${timeoutMs} ms`);
      await sleep(100);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for await (const keys of redis.scanStream({ match: `*${prefix}*`, count: 1_000 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}
