import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "./config.ts";

/**
 * The one Redis connection factory.
 * - "producer": fails fast when Redis is down (no offline queue), so an API
 *   call errors instead of hanging.
 * - "worker" / "subscriber": blocking commands and pub/sub need
 *   maxRetriesPerRequest null and reconnect forever.
 */
export type RedisRole = "producer" | "worker" | "subscriber";

export function createRedis(config: Pick<Config, "redis">, role: RedisRole): Redis {
  const options: RedisOptions =
    role === "producer"
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  return new Redis(config.redis.url, { ...options, connectionName: `hookpost:${role}` });
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
