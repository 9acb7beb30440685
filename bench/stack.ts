import { randomBytes } from "node:crypto";
import { createWorkspace } from "../src/services/workspaces.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/db.ts";
import { type HookpostProcess, spawnHookpost } from "../test/support/processes.ts";
import { deleteRedisKeys } from "../test/support/redis.ts";
import { type BenchApi, benchApi } from "./graphql.ts";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export type Stack = {
  db: TestDatabase;
  apiPid: number;
  workerPid: number;
  /** The api's GraphQL URL; its origin also serves POST /inbound/<sourceId>. */
  graphqlUrl: string;
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
  const env: Record<string, string> = {
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    OUTBOUND_ALLOW: "127.0.0.0/8",
    BOOTSTRAP_WORKSPACE: "false",
    ...opts.env,
  };
  const children: HookpostProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => c.stop(15_000)));
    await db.drop();
    await deleteRedisKeys(REDIS_URL, prefix);
  };
  try {
    // The api migrates the fresh database; the worker starts once it has.
    // Their logs go to our stderr, next to the progress lines; stdout carries only results.
    const start = async (role: "api" | "worker") => {
      const nodeArgs = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}/${role}`] : [];
      const child = await spawnHookpost(role, env, { nodeArgs, echo: process.stderr });
      children.push(child);
      return child;
    };
    const api = await start("api");
    const worker = await start("worker");
    const graphqlUrl = api.url!;
    return {
      db,
      apiPid: api.pid,
      workerPid: worker.pid,
      graphqlUrl,
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
