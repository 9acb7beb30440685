import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, loadConfig } from "../../src/config.ts";
import { createLivePubSub, type LivePubSub } from "../../src/pubsub/pubsub.ts";
import { liveChannel } from "../../src/pubsub/topics.ts";
import type { DeliveryAttemptView, ReplayView } from "../../src/pubsub/views.ts";
import { testEnv } from "../support/hookpost.ts";
import { sleep, waitFor } from "../support/wait.ts";

const RECHECK_MS = 3_000;

/**
 * A worker's live pub/sub stops publishing a channel nobody listens to, and
 * resumes the moment a subscriber anywhere is ready. Two pub/subs on real
 * Redis: the publishing side (a worker) and the listening side (an api).
 */
describe("live channels nobody listens to", () => {
  let config: Config;
  const connections: Redis[] = [];
  let worker: LivePubSub;
  let api: LivePubSub;
  /** Every PUBLISH the worker side sends, by channel. */
  const published: string[] = [];
  /** Redis's reply to each PUBLISH, in the same order. */
  const replies: Promise<number>[] = [];
  /** The worker side's job connection, and the list it takes jobs from. */
  let workerJobs: Redis;
  let triggers: string;

  const connect = () => {
    const redis = new Redis(config.redis.url);
    connections.push(redis);
    return redis;
  };

  beforeAll(() => {
    config = loadConfig(testEnv());
    const publisher = connect();
    const publish = publisher.publish.bind(publisher);
    publisher.publish = ((channel: string, message: string) => {
      published.push(channel);
      const reply = publish(channel, message);
      replies.push(reply);
      return reply;
    }) as typeof publisher.publish;
    worker = createLivePubSub(config, publisher, connect(), { quietRecheckMs: RECHECK_MS });
    api = createLivePubSub(config, connect(), connect());
    workerJobs = connect();
    triggers = `${config.redis.prefix}:triggers`;
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.quit()));
  });

  let attempts = 0;
  /** An attempt of workspace `key` (what the feed carries; the fields do not matter here). */
  const attempt = (key: string) =>
    ({
      id: `att_${++attempts}`,
      workspaceId: key,
      endpoint: { id: "ep_1" },
    }) as unknown as DeliveryAttemptView;
  const publishesTo = (key: string, topic: "delivery-attempt" | "replay-progress" = "delivery-attempt") =>
    published.filter((c) => c === liveChannel(config.redis.prefix, topic, key)).length;

  /**
   * Waits for Redis's reply to the last PUBLISH of attempts to `key` ("nobody listened"): the
   * publisher's own handler, attached before this one, has seen it once this resolves.
   */
  const replyTo = (key: string) =>
    replies[published.lastIndexOf(liveChannel(config.redis.prefix, "delivery-attempt", key))];

  it("publishes once, then nothing until someone subscribes, then every message", async () => {
    worker.publish("delivery-attempt", "ws_a", attempt("ws_a"));
    await waitFor(() => publishesTo("ws_a") === 1, "the first PUBLISH");
    await replyTo("ws_a");
    for (let i = 0; i < 10; i++) {
      worker.publish("delivery-attempt", "ws_a", attempt("ws_a"));
      await sleep(5);
    }
    expect(publishesTo("ws_a")).toBe(1);

    const feed = api.subscribe("delivery-attempt", "ws_a");
    await feed.ready;
    // What makes a worker record an attempt reaches it through Redis after the subscription was ready.
    await connections[0]!.lpush(triggers, "attempt");
    await workerJobs.brpop(triggers, 5);
    const sent = attempt("ws_a");
    worker.publish("delivery-attempt", "ws_a", sent);
    const { value } = await feed.next();
    expect(value).toEqual(sent);
    await feed.return();
  });

  it("checks a quiet channel again after the recheck interval, and other channels are unaffected", async () => {
    worker.publish("delivery-attempt", "ws_b", attempt("ws_b"));
    await waitFor(() => publishesTo("ws_b") === 1, "the first PUBLISH");
    await replyTo("ws_b");
    worker.publish("delivery-attempt", "ws_b", attempt("ws_b"));
    worker.publish("delivery-attempt", "ws_c", attempt("ws_c"));
    await waitFor(() => publishesTo("ws_c") === 1, "a PUBLISH to another channel");
    expect(publishesTo("ws_b")).toBe(1);

    await sleep(RECHECK_MS);
    worker.publish("delivery-attempt", "ws_b", attempt("ws_b"));
    await waitFor(() => publishesTo("ws_b") === 2, "the recheck PUBLISH");
  });

  it("keeps publishing while a subscriber listens, and goes quiet once it leaves", async () => {
    const feed = api.subscribe("delivery-attempt", "ws_d");
    await feed.ready;
    for (let i = 0; i < 5; i++) {
      const sent = attempt("ws_d");
      worker.publish("delivery-attempt", "ws_d", sent);
      expect((await feed.next()).value).toEqual(sent);
    }
    await feed.return();
    await waitFor(async () => {
      const [, count] = (await connections[0]!.pubsub(
        "NUMSUB",
        liveChannel(config.redis.prefix, "delivery-attempt", "ws_d"),
      )) as [string, number];
      return count === 0;
    }, "the unsubscribe");
    worker.publish("delivery-attempt", "ws_d", attempt("ws_d"));
    const before = await waitFor(() => publishesTo("ws_d") === 6 && 6, "the PUBLISH nobody hears");
    await replyTo("ws_d");
    worker.publish("delivery-attempt", "ws_d", attempt("ws_d"));
    await sleep(100);
    expect(publishesTo("ws_d")).toBe(before);
  });

  it("always publishes replay progress, which a subscriber must not miss", async () => {
    const progress = (enqueued: number) => ({ id: "rpl_e", enqueued }) as unknown as ReplayView;
    worker.publish("replay-progress", "rpl_e", progress(1));
    await waitFor(() => publishesTo("rpl_e", "replay-progress") === 1, "the first PUBLISH");
    await sleep(100); // its "nobody listened" reply
    worker.publish("replay-progress", "rpl_e", progress(2));
    await waitFor(() => publishesTo("rpl_e", "replay-progress") === 2, "the second PUBLISH");
  });
});
