import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { parseRedisUrl, redactRedisUrl } from "../../src/redisUrl.ts";

describe("REDIS_URL", () => {
  it("passes a single Redis URL to ioredis unchanged", () => {
    for (const url of ["redis://127.0.0.1:6379", "rediss://:secret@cache:6380/2", "redis://u:p@h/1"])
      expect(parseRedisUrl(url)).toEqual({ kind: "single", url });
  });

  it("reads a cluster's nodes, credentials and TLS", () => {
    expect(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002")).toEqual({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 6379 },
        { host: "::1", port: 7002 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisUrl("rediss+cluster://app:p%40ss:w@node-a:6379/")).toMatchObject({
      nodes: [{ host: "node-a", port: 6379 }],
      username: "app",
      password: "p@ss:w",
      tls: true,
    });
    expect(parseRedisUrl("redis+cluster://:only-password@node-a:6379")).toMatchObject({
      username: undefined,
      password: "only-password",
    });
  });

  it("refuses a malformed cluster URL at boot, without printing its password", () => {
    for (const url of [
      "redis+cluster://",
      "redis+cluster://a:6379,,b:6379",
      "redis+cluster://a:99999",
      "redis+cluster://a:6379/0",
    ])
      expect(() => parseRedisUrl(url), url).toThrow();
    expect(() => loadConfig({ REDIS_URL: "redis+cluster://u:hunter2@a:6379/0" })).toThrow(
      /REDIS_URL: "redis\+cluster:\/\/u:\*\*\*@a:6379\/0" is not/,
    );
  });

  it("hides the password of either form", () => {
    expect(redactRedisUrl("redis://:secret@h:6379")).toBe("redis://:***@h:6379");
    expect(redactRedisUrl("rediss+cluster://u:secret@a:1,b:2")).toBe("rediss+cluster://u:***@a:1,b:2");
    expect(redactRedisUrl("redis://h:6379")).toBe("redis://h:6379");
  });
});
