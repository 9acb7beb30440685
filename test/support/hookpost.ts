import { randomBytes } from "node:crypto";
import { type Config, loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { type Role, startHookpost } from "../../src/main.ts";
import { createWorkspace } from "../../src/services/workspaces.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { type GraphqlClient, graphqlClient } from "./graphql.ts";
import { deleteRedisKeys } from "./redis.ts";

/** Settings every test instance uses: loopback receivers allowed, fast retries, short timeouts. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    HOST: "127.0.0.1",
    PORT: "0",
    WORKER_PORT: "0",
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_PREFIX: `hp-test-${randomBytes(5).toString("hex")}`,
    OUTBOUND_ALLOW: "127.0.0.0/8,::1/128",
    BOOTSTRAP_WORKSPACE: "false",
    RETRY_SCHEDULE: "100ms,200ms,300ms",
    RETRY_JITTER: "0",
    RETRY_MIN_AFTER_THROTTLE_MS: "0",
    // Tests of retries, replays and endpoint health follow every attempt; circuit.test.ts turns it on.
    CIRCUIT_FAILURE_THRESHOLD: "0",
    DELIVERY_TIMEOUT_MS: "2000",
    SWEEP_INTERVAL_MS: "500",
    SWEEP_GRACE_MS: "1000",
    JWT_SECRET: "test-jwt-secret-0123456789abcdef",
    ...overrides,
  };
}

export type TestHookpost = {
  config: Config;
  db: TestDatabase;
  url: string;
  /** A workspace with an API key and a client authenticated as it. */
  workspace: { id: string; apiKey: string; client: GraphqlClient };
  newWorkspace(name?: string): Promise<{ id: string; apiKey: string; client: GraphqlClient }>;
  client(authorization: string | null): GraphqlClient;
  /** Stops it; its Redis keys are deleted unless `keepRedisKeys` (another instance takes them over). */
  stop(opts?: { keepRedisKeys?: boolean }): Promise<void>;
};

/**
 * A real Hookpost (api + worker by default) in this process, on its own fresh
 * database, its own Redis key prefix and a free port.
 */
export async function startTestHookpost(
  opts: { env?: Record<string, string>; roles?: Role[]; db?: TestDatabase } = {},
): Promise<TestHookpost> {
  const db = opts.db ?? (await createTestDatabase());
  const config = loadConfig(testEnv({ DATABASE_URL: db.url, ...opts.env }));
  const hookpost = await startHookpost(config, createLogger(config), opts.roles ?? ["api", "worker"]);
  const url = `http://127.0.0.1:${hookpost.port}/graphql`;
  const newWorkspace = async (name = "test") => {
    const { workspaceId, apiKey } = await createWorkspace(db.prisma, name);
    return { id: workspaceId, apiKey, client: graphqlClient(url, `Bearer ${apiKey}`) };
  };
  return {
    config,
    db,
    url,
    workspace: await newWorkspace("primary"),
    newWorkspace,
    client: (authorization) => graphqlClient(url, authorization),
    async stop({ keepRedisKeys = false } = {}) {
      await hookpost.stop();
      if (!keepRedisKeys) await deleteRedisKeys(config.redis.url, config.redis.prefix);
      if (!opts.db) await db.drop();
    },
  };
}
