/**
 * What authentication adds to each request: a cached API key, with the
 * per-key request limit off and on (one Redis round trip, shared by every api
 * process). `npx tsx bench/authCost.ts`; needs Redis at REDIS_URL.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { pino } from "pino";
import { loadConfig } from "../src/config.ts";
import type { Db } from "../src/db/client.ts";
import { hashApiKey } from "../src/services/apiKeys.ts";
import { createAuthenticator } from "../src/services/auth.ts";
import { createRateLimits } from "../src/services/rateLimits.ts";

const KEY = `hp_${"b".repeat(43)}`;
const CALLS = 5_000;
const IN_FLIGHT = 32;
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** One key in a database that is asked once: later calls hit the authenticator's cache. */
const prisma = {
  apiKey: {
    findUnique: async ({ where }: { where: { hash: string } }) =>
      where.hash === hashApiKey(KEY)
        ? { id: "key_bench", workspaceId: "ws_bench", scopes: ["ADMIN"], revokedAt: null }
        : null,
    updateMany: async () => ({ count: 1 }),
  },
} as unknown as Db;

async function measure(label: string, requestsPerMinute: number, redis: Redis): Promise<void> {
  const logger = pino({ level: "silent" });
  const config = loadConfig({
    REDIS_URL,
    REDIS_PREFIX: `hp-bench-auth-${randomBytes(4).toString("hex")}`,
    RATE_LIMIT_REQUESTS_PER_MINUTE: String(requestsPerMinute),
  });
  const authenticator = createAuthenticator(prisma, config, createRateLimits(redis, config, logger), logger);
  const call = () => authenticator.authenticate(`Bearer ${KEY}`, "127.0.0.1");
  for (let i = 0; i < 500; i++) await call(); // warm-up: cache, JIT, Redis script load

  let start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await call();
  const sequentialUs = Number(process.hrtime.bigint() - start) / 1_000 / CALLS;

  start = process.hrtime.bigint();
  let left = CALLS;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const concurrentS = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await call();
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = (cpu.user + cpu.system) / CALLS;
  await authenticator.close();
  process.stdout.write(
    `${label.padEnd(22)} ${sequentialUs.toFixed(1).padStart(7)} µs/request one at a time, ` +
      `${Math.round(CALLS / concurrentS)
        .toLocaleString("en")
        .padStart(7)} requests/s with ${IN_FLIGHT} in flight, ` +
      `${cpuUs.toFixed(1).padStart(5)} µs CPU/request\n`,
  );
}

const redis = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
await new Promise((resolve) => redis.once("ready", resolve));
await measure("limit off", 0, redis);
await measure("limit on (Redis)", 100_000_000, redis);
redis.disconnect();
