import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { createRedis, type RedisClient } from "../../src/redis.ts";
import { testEnv } from "../support/hookpost.ts";
import { freePort } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

/** A logger that keeps what was warned about. */
function recordingLogger() {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = { warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }) };
  return { logger: logger as unknown as Logger, warnings };
}

describe("Redis connections", () => {
  const config = loadConfig(testEnv());
  const opened: RedisClient[] = [];
  afterEach(() => {
    for (const c of opened.splice(0)) c.disconnect();
  });

  it("a subscriber that subscribes during its handshake comes up without a failed ready check", async () => {
    // The live pub/sub subscribes while its connection may still be in its
    // handshake. With ioredis 5's client-info handshake, a SUBSCRIBE sent then
    // reached Redis before the ready check's INFO, which Redis refused: an
    // error and a reconnect at every start.
    const runs = 5;
    for (let run = 0; run < runs; run++) {
      const { logger, warnings } = recordingLogger();
      const subscriber = createRedis(config, "subscriber", logger);
      const publisher = createRedis(config, "producer", logger);
      opened.push(subscriber, publisher);
      const channel = `${config.redis.prefix}:probe:${run}`;
      const received: string[] = [];
      subscriber.on("message", (_name: string, text: string) => received.push(text));
      await new Promise((resolve) => subscriber.once("connect", resolve));
      await subscriber.subscribe(channel);
      await waitFor(async () => subscriber.status === "ready", "the subscriber to be ready");
      await waitFor(
        async () => (await publisher.publish(channel, "hello")) > 0 && received.length > 0,
        "a message",
      );
      expect(received[0]).toBe("hello");
      expect(warnings).toEqual([]);
    }
  });

  it("a subscriber whose connection drops subscribes again when it reconnects", async () => {
    const { logger } = recordingLogger();
    const subscriber = createRedis(config, "subscriber", logger);
    const publisher = createRedis(config, "producer", logger);
    opened.push(subscriber, publisher);
    const channel = `${config.redis.prefix}:probe:reconnect`;
    const received: string[] = [];
    subscriber.on("message", (_name: string, text: string) => received.push(text));
    await subscriber.subscribe(channel);
    await waitFor(async () => (await publisher.publish(channel, "before")) > 0, "the subscription");
    // Redis drops this subscriber's connection (only this one: other test files share the server).
    const { localAddress, localPort } = (subscriber as Redis).stream;
    await publisher.client("KILL", "ADDR", `${localAddress}:${localPort}`);
    await waitFor(async () => (await publisher.publish(channel, "after")) > 0, "the subscription again");
    await waitFor(() => received.includes("after"), "a message after reconnecting");
  });

  it("reports connection errors through the logger, naming the role", async () => {
    const { logger, warnings } = recordingLogger();
    const unreachable = loadConfig(testEnv({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    const redis = createRedis(unreachable, "subscriber", logger);
    opened.push(redis);
    await waitFor(async () => warnings.length > 0, "a warning");
    expect(warnings[0]!.obj.role).toBe("subscriber");
    expect(String(warnings[0]!.obj.err)).toMatch(/ECONNREFUSED/);
  });
});
