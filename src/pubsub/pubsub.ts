import type { Config } from "../config.ts";
import { isRedisCluster, type RedisClient } from "../redis.ts";
import { createFeed, type LiveFeed } from "./feed.ts";
import { type LivePayload, type LiveTopic, listeningChannel, liveChannel, wireFormat } from "./topics.ts";

/** Unread messages one subscriber may have before it is dropped (see feed.ts). */
export const LIVE_BACKLOG_LIMIT = 1_000;
/** Live messages one PUBLISH carries at most (a JSON array of them). */
const MAX_MESSAGES_PER_PUBLISH = 200;
/** Topics not published while nobody listens: many messages, each a moment's news. */
const QUIETABLE_TOPICS: ReadonlySet<LiveTopic> = new Set(["delivery-attempt"]);
/** How long a channel nobody listens to goes unpublished before one PUBLISH checks again. */
export const QUIET_RECHECK_MS = 5_000;

export type LivePubSub = {
  /** Fire and forget: never waits, never throws. The database is the record; the live feed is best effort. */
  publish<T extends LiveTopic>(topic: T, key: string, payload: LivePayload<T>): void;
  /**
   * One subscriber's feed of a channel: the messages `where` keeps (all by
   * default). return() it to unsubscribe.
   */
  subscribe<T extends LiveTopic>(
    topic: T,
    key: string,
    where?: (payload: LivePayload<T>) => boolean,
  ): LiveFeed<LivePayload<T>>;
};

type Channel = { subscribers: Set<(message: unknown) => void>; ready: Promise<void> };

/**
 * Pub/sub over Redis so every api process hears what every worker publishes.
 * Two connections: a subscribed ioredis client cannot publish. Each process
 * subscribes once per channel in use and parses each message once, whatever
 * the number of local subscribers; each subscriber reads from its own bounded
 * feed, so a slow one cannot hold up the others.
 */
export function createLivePubSub(
  config: Pick<Config, "redis">,
  publisher: RedisClient,
  subscriber: RedisClient,
  opts: { backlogLimit?: number; quietRecheckMs?: number } = {},
): LivePubSub {
  const backlogLimit = opts.backlogLimit ?? LIVE_BACKLOG_LIMIT;
  const quietRecheckMs = opts.quietRecheckMs ?? QUIET_RECHECK_MS;
  const channels = new Map<string, Channel>();

  // Most attempts happen with no dashboard open. PUBLISH answers how many
  // listened; an attempts channel that had no one is not published to (nor
  // its messages serialized) until a process announces a subscriber on it, or
  // for quietRecheckMs. A subscription is ready once announced: whatever it
  // causes afterwards (a publish through the api, a job a worker fetches)
  // reaches a worker after the announcement did, and this process hears its
  // own at once; an attempt made concurrently may be missed, as if made just
  // before. Progress and endpoint changes are state a subscriber must not
  // miss, and few: they are always published.
  // Announcements and PUBLISH replies travel on two connections, so they are
  // ordered by a counter: a "no one" reply to a PUBLISH sent before the last
  // announcement is stale and ignored.
  // In a Redis Cluster a PUBLISH reaches the subscribers of every node but
  // counts only those of the node it was sent to: "no one" proves nothing
  // there, so every channel is always published.
  const canGoQuiet = !isRedisCluster(config);
  const announcements = listeningChannel(config.redis.prefix);
  let clock = 0;
  const announcedAt = new Map<string, number>();
  const quietSince = new Map<string, number>();
  const isQuiet = (name: string) => {
    const since = quietSince.get(name);
    if (since === undefined) return false;
    if (Date.now() - since < quietRecheckMs) return true;
    quietSince.delete(name);
    return false;
  };
  subscriber.subscribe(announcements).catch(() => {
    // Closing: nothing is published any more either.
  });

  const heard = (name: string) => {
    announcedAt.set(name, ++clock);
    quietSince.delete(name);
  };

  subscriber.on("message", (name: string, text: string) => {
    if (name === announcements) return heard(text);
    const channel = channels.get(name);
    if (!channel) return;
    const parsed: unknown = JSON.parse(text);
    // An array since messages are batched; a single message from a process of an older release.
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    for (const message of messages) for (const deliver of channel.subscribers) deliver(message);
  });

  // Messages published in the same turn of the event loop (a batch of attempts
  // recorded together) leave in one PUBLISH per channel: every Redis write is a
  // syscall, and on a busy worker those were a tenth of its CPU.
  const outbox = new Map<string, { texts: string[]; quietable: boolean }>();
  function flushOutbox(): void {
    for (const [name, { texts, quietable }] of outbox) {
      for (let i = 0; i < texts.length; i += MAX_MESSAGES_PER_PUBLISH) {
        const batch = `[${texts.slice(i, i + MAX_MESSAGES_PER_PUBLISH).join(",")}]`;
        const sentAt = ++clock;
        publisher.publish(name, batch).then(
          (listeners) => {
            if (listeners === 0 && quietable && (announcedAt.get(name) ?? 0) < sentAt)
              quietSince.set(name, Date.now());
          },
          () => {
            // Redis is unreachable: these live messages are lost, the deliveries they report are not.
          },
        );
      }
    }
    outbox.clear();
  }

  function join(name: string): Channel {
    let channel = channels.get(name);
    if (!channel) {
      // Subscribed, then announced, so publishers that had stopped publishing this channel resume.
      // Resolves either way: a refused SUBSCRIBE only happens while the connection is being closed.
      heard(name);
      const ready = subscriber
        .subscribe(name)
        .then(() => publisher.publish(announcements, name))
        .then(
          () => undefined,
          () => undefined,
        );
      channel = { subscribers: new Set(), ready };
      channels.set(name, channel);
    }
    return channel;
  }

  function leave(name: string, channel: Channel, deliver: (message: unknown) => void): void {
    channel.subscribers.delete(deliver);
    if (channel.subscribers.size > 0) return;
    channels.delete(name);
    subscriber.unsubscribe(name).catch(() => {
      // The connection is closing; the subscription goes with it.
    });
  }

  return {
    publish(topic, key, payload) {
      const name = liveChannel(config.redis.prefix, topic, key);
      const quietable = canGoQuiet && QUIETABLE_TOPICS.has(topic);
      if (quietable && isQuiet(name)) return;
      const pending = outbox.get(name);
      const text = JSON.stringify(wireFormat[topic](payload));
      if (pending) pending.texts.push(text);
      else {
        if (outbox.size === 0) setImmediate(flushOutbox);
        outbox.set(name, { texts: [text], quietable });
      }
    },
    subscribe<T extends LiveTopic>(topic: T, key: string, where?: (payload: LivePayload<T>) => boolean) {
      const name = liveChannel(config.redis.prefix, topic, key);
      const channel = join(name);
      const { feed, push } = createFeed<LivePayload<T>>({
        limit: backlogLimit,
        ready: channel.ready,
        onClose: () => leave(name, channel, deliver),
      });
      const deliver = (message: unknown) => {
        const payload = message as LivePayload<T>;
        if (!where || where(payload)) push(payload);
      };
      channel.subscribers.add(deliver);
      return feed;
    },
  };
}
