import type { Config } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { createHttpSender } from "./delivery/httpSender.ts";
import { createAddressPolicy } from "./delivery/outboundGuard.ts";
import type { Deps } from "./deps.ts";
import { createSnsClient } from "./inbound/snsClient.ts";
import type { Logger } from "./logger.ts";
import { createLivePubSub } from "./pubsub/pubsub.ts";
import { createQueues } from "./queue/queues.ts";
import { createRedis, waitForRedis } from "./redis.ts";
import { redactRedisUrl } from "./redisUrl.ts";
import { createRateLimits } from "./services/rateLimits.ts";
import { StartupError } from "./startupError.ts";

export type Runtime = { deps: Deps; redisPing(): Promise<unknown>; close(): Promise<void> };

/**
 * Opens everything a Hookpost process needs — database (migrated), Redis
 * connections, queues, live pub/sub, the outbound HTTP sender — once, and
 * closes them in reverse order.
 */
export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const database = await openDatabase(config, (msg) => logger.info(msg));
  const producer = createRedis(config, "producer", logger);
  const publisher = createRedis(config, "producer", logger);
  const subscriber = createRedis(config, "subscriber", logger);
  try {
    await Promise.all([waitForRedis(producer), waitForRedis(publisher)]);
  } catch (err) {
    await database.close();
    for (const c of [producer, publisher, subscriber]) c.disconnect();
    throw new StartupError(
      `cannot reach Redis at ${redactRedisUrl(config.redis.url)}: ${(err as Error).message}`,
    );
  }
  const queues = createQueues(config, producer, logger);
  const sender = createHttpSender({
    timeoutMs: config.delivery.timeoutMs,
    responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
    outboundAllow: config.delivery.outboundAllow,
    connections: config.delivery.connectionsPerOrigin,
  });
  const sns = createSnsClient({
    hosts: config.inbound.snsHosts,
    outboundAllow: config.delivery.outboundAllow,
  });
  const deps: Deps = {
    config,
    prisma: database.prisma,
    queues,
    pubsub: createLivePubSub(config, publisher, subscriber),
    sender,
    addressPolicy: createAddressPolicy(config.delivery.outboundAllow),
    sns,
    logger,
    rateLimits: createRateLimits(producer, config, logger),
  };
  return {
    deps,
    redisPing: () => producer.ping(),
    async close() {
      await queues.close();
      await sender.close();
      await sns.close();
      await Promise.all([producer, publisher, subscriber].map((c) => c.quit().catch(() => c.disconnect())));
      await database.close();
    },
  };
}
