import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { createPubSub, type PubSub } from "graphql-yoga";
import type { Redis } from "ioredis";
import type { Config } from "../config.ts";
import type { LiveTopics } from "./topics.ts";

export type LivePubSub = PubSub<LiveTopics>;

/**
 * Pub/sub over Redis so every api process hears what every worker publishes.
 * Two connections: a subscribed ioredis client cannot publish.
 */
export function createLivePubSub(
  config: Pick<Config, "redis">,
  publish: Redis,
  subscribe: Redis,
): LivePubSub {
  const eventTarget = createRedisEventTarget({ publishClient: publish, subscribeClient: subscribe });
  const pubsub = createPubSub<LiveTopics>({ eventTarget });
  const prefix = `${config.redis.prefix}:live:`;
  // Channel names carry the Redis prefix so two deployments (or two test runs) sharing a Redis never cross.
  return {
    publish: ((topic: string, ...args: unknown[]) =>
      (pubsub.publish as (t: string, ...a: unknown[]) => void)(
        prefix + topic,
        ...args,
      )) as LivePubSub["publish"],
    subscribe: ((topic: string, ...args: unknown[]) =>
      (pubsub.subscribe as (t: string, ...a: unknown[]) => unknown)(
        prefix + topic,
        ...args,
      )) as LivePubSub["subscribe"],
  };
}
