import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import { parseRedisUrl } from "./redisUrl.ts";

/**
 * The one Redis connection factory. REDIS_URL names one Redis or a Redis
 * Cluster (src/redisUrl.ts); every caller gets the same commands either way.
 * - "producer": fails fast when Redis is down (no offline queue), so an API
 *   call errors instead of hanging.
 * - "worker" / "subscriber": blocking commands and pub/sub need
 *   maxRetriesPerRequest null and reconnect forever.
 * Connection errors (Redis down, a reconnect) are logged with the role; the
 * connection keeps reconnecting on its own.
 */
export type RedisRole = "producer" | "worker" | "subscriber";

/** A connection to one Redis or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

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

/**
 * The prefix of every key Hookpost writes. The braces make it a Redis Cluster
 * hash tag: all keys share one slot, so BullMQ's multi-key scripts and
 * Hookpost's own keys always live on one node.
 */
export function redisKeyPrefix(config: Pick<Config, "redis">): string {
  return `{${config.redis.prefix}}`;
}

export function isRedisCluster(config: Pick<Config, "redis">): boolean {
  return parseRedisUrl(config.redis.url).kind === "cluster";
}

export function createRedis(
  config: Pick<Config, "redis">,
  role: RedisRole,
  logger: Pick<Logger, "warn">,
  /** The connection's name in CLIENT LIST; `hookpost:<role>` by default. */
  name = `hookpost:${role}`,
): RedisClient {
  const target = parseRedisUrl(config.redis.url);
  const options: RedisOptions = { ...ROLE_OPTIONS[role], connectionName: name };
  if (target.kind === "single") {
    const redis = new Redis(target.url, options);
    redis.on("error", (err: Error) => logger.warn({ err, role }, "Redis connection error"));
    return redis;
  }
  const { enableOfflineQueue = true, enableReadyCheck = true, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    // Whether commands wait for the cluster is the cluster's choice; a node's
    // connection queues a command until it is connected, which it does lazily.
    enableOfflineQueue,
    enableReadyCheck,
    redisOptions: {
      ...nodeOptions,
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
    },
  };
  const cluster = new Cluster(target.nodes, clusterOptions);
  cluster.on("error", (err: Error) => logger.warn({ err, role }, "Redis Cluster connection error"));
  cluster.on("node error", (err: Error, node: string) =>
    logger.warn({ err, role, node }, "Redis Cluster node connection error"),
  );
  return cluster;
}

/** The connections to each Redis holding keys: the one Redis, or every master of a cluster. */
export function redisNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

/** Resolves once the connection is ready (producers start without an offline queue). */
export async function waitForRedis(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
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
