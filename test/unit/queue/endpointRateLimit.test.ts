import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import { createEndpointRateLimit } from "../../../src/queue/endpointRateLimit.ts";
import { testEnv } from "../../support/hookpost.ts";
import { deleteRedisKeys } from "../../support/redis.ts";
import { sleep } from "../../support/wait.ts";

/** Against a real Redis, under this file's own key prefix; two connections stand for two worker processes. */
describe("the endpoint rate limit", () => {
  const config = loadConfig(testEnv());
  const connections = [new Redis(config.redis.url), new Redis(config.redis.url)];
  const [one, other] = connections.map((redis) => createEndpointRateLimit(redis, config));
  afterAll(async () => {
    for (const redis of connections) redis.disconnect();
    await deleteRedisKeys(config.redis.url, config.redis.prefix);
  });

  it("lets everything through without a limit, touching no key", async () => {
    const endpoint = { id: "ep_free", rateLimitPerSecond: null };
    for (let i = 0; i < 5; i++) expect(await one!.waitMs(endpoint, `dlv_${i}`)).toBe(0);
    expect(await connections[0]!.keys(`*${config.redis.prefix}*`)).toEqual([]);
  });

  it("spaces deliveries 1/rate apart across connections, each keeping its reserved time", async () => {
    const endpoint = { id: "ep_ten", rateLimitPerSecond: 10 };
    const waits = [];
    for (let i = 0; i < 6; i++) waits.push(await (i % 2 ? other! : one!).waitMs(endpoint, `dlv_${i}`));
    expect(waits[0]).toBe(0);
    // Each later one waits about 100 ms more than the one before (less the time the calls took).
    for (let i = 1; i < waits.length; i++) {
      expect(waits[i]!).toBeGreaterThan(i * 100 - 60);
      expect(waits[i]!).toBeLessThanOrEqual(i * 100);
    }
    // Asking again before its time says how long is left, reserving nothing more.
    const again = await other!.waitMs(endpoint, "dlv_5");
    expect(again).toBeGreaterThan(0);
    expect(again).toBeLessThanOrEqual(waits[5]!);
    const next = await one!.waitMs(endpoint, "dlv_6");
    expect(next).toBeGreaterThan(waits[5]!);

    // At its time, from either connection, it goes.
    await sleep(waits[1]! + 5);
    expect(await other!.waitMs(endpoint, "dlv_1")).toBe(0);
  });

  it("spreads deliveries back late for their times instead of sending them together", async () => {
    const endpoint = { id: "ep_late", rateLimitPerSecond: 10 };
    expect(await one!.waitMs(endpoint, "dlv_a")).toBe(0);
    expect(await one!.waitMs(endpoint, "dlv_b")).toBeGreaterThan(0);
    expect(await one!.waitMs(endpoint, "dlv_c")).toBeGreaterThan(0);
    // Both come back long after their times (a stalled worker), together: one goes, the other gets a new time.
    await sleep(700);
    expect(await other!.waitMs(endpoint, "dlv_b")).toBe(0);
    const again = await one!.waitMs(endpoint, "dlv_c");
    expect(again).toBeGreaterThan(50);
    expect(again).toBeLessThanOrEqual(100);
  });

  it("keeps endpoints apart", async () => {
    const slow = { id: "ep_one", rateLimitPerSecond: 1 };
    expect(await one!.waitMs(slow, "dlv_a")).toBe(0);
    expect(await one!.waitMs(slow, "dlv_b")).toBeGreaterThan(900);
    expect(await one!.waitMs({ id: "ep_other", rateLimitPerSecond: 1 }, "dlv_c")).toBe(0);
  });
});
