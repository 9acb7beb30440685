import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";

/**
 * The one Redis connection factory.
 * - "producer": fails fast when Redis is down (no offline queue), so an API
 *   call errors instead of hanging.
 * - "worker" / "subscriber": blocking commands and pub/sub need
 *   maxRetriesPerRequest null and reconnect forever.
 * Connection errors (Redis down, a reconnect) are logged with the role; the
 * connection keeps reconnecting on its own.
 */
export type RedisRole = "producer" | "worker" | "subscriber";

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false },
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
  // The live pub/sub may subscribe while its connection is still in its
  // handshake, and ioredis 5 then writes the SUBSCRIBE at once: a ready check
  // (INFO) or client-info (CLIENT SETINFO) sent after it is refused in
  // subscriber mode. A refused ready check dropped the connection and the
  // subscription with it, at start (ioredis #2037). A subscriber has nothing
  // to wait for in a ready check, and its name is set before anything else.
  subscriber: { maxRetriesPerRequest: null, enableReadyCheck: false, disableClientInfo: true },
};

export function createRedis(
  config: Pick<Config, "redis">,
  role: RedisRole,
  logger: Pick<Logger, "warn">,
  /** The connection's name in CLIENT LIST; `hookpost:<role>` by default. */
  name = `hookpost:${role}`,
): Redis {
  const redis = new Redis(config.redis.url, { ...ROLE_OPTIONS[role], connectionName: name });
  redis.on("error", (err: Error) => logger.warn({ err, role }, "Redis connection error"));
  return redis;
}

/** Resolves once the connection is ready (producers start without an offline queue). */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}
