import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { listen } from "../../src/http/listen.ts";
import { createLogger } from "../../src/logger.ts";
import { startHookpost } from "../../src/main.ts";
import { listeningChannel } from "../../src/pubsub/topics.ts";
import { ListEndpointsDocument } from "../generated/graphql.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { graphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost, testEnv } from "../support/hookpost.ts";
import { deleteRedisKeys } from "../support/redis.ts";
import { waitFor } from "../support/wait.ts";

const REPO = new URL("../..", import.meta.url).pathname;

/** An API key as the CLI and the bootstrap print it. */
const API_KEY = /\bhp_[A-Za-z0-9_-]{20,}/g;

describe("first start on an empty database", () => {
  let db: TestDatabase;
  const stops: (() => Promise<void>)[] = [];
  /** Run once every process has stopped. */
  const cleanups: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    // Not migrated: what a newcomer's fresh database looks like.
    db = await createTestDatabase({ migrate: false });
  });
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
    vi.restoreAllMocks();
    await db?.drop();
  });

  // Generous timeout: the child process compiles and loads the whole app on a busy machine.
  it("`hookpost workspace create` prints a key that authenticates", { timeout: 120_000 }, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["bin/hookpost.js", "workspace", "create", "acme"],
      { cwd: REPO, env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: "silent" } },
    );
    const [apiKey, ...more] = stdout.match(API_KEY) ?? [];
    expect(apiKey, stdout).toBeDefined();
    expect(more).toEqual([]);
    expect(await db.prisma.workspace.findMany({ select: { name: true } })).toEqual([{ name: "acme" }]);

    const hp: TestHookpost = await startTestHookpost({ db });
    stops.push(hp.stop);
    expect(await hp.client(`Bearer ${apiKey}`).ok(ListEndpointsDocument, {})).toEqual({
      endpoints: expect.objectContaining({ edges: [] }),
    });
  });

  it("BOOTSTRAP_WORKSPACE creates exactly one workspace, also when two processes start together", async () => {
    // Observes what the bootstrap prints (the key is shown nowhere else); output still goes through.
    const printed = vi.spyOn(process.stdout, "write");
    const config = loadConfig(testEnv({ DATABASE_URL: db.url, BOOTSTRAP_WORKSPACE: "true" }));
    const [a, b] = await Promise.all([
      startHookpost(config, createLogger(config), ["api"]),
      startHookpost(config, createLogger(config), ["api"]),
    ]);
    stops.push(a.stop, b.stop);
    cleanups.push(() => deleteRedisKeys(config.redis.url, config.redis.prefix));

    expect(await db.prisma.workspace.count()).toBe(1);
    const keys = printed.mock.calls.flatMap(([chunk]) => String(chunk).match(API_KEY) ?? []);
    expect(keys).toHaveLength(1);
    for (const port of [a.port, b.port]) {
      const client = graphqlClient(`http://127.0.0.1:${port}/graphql`, `Bearer ${keys[0]}`);
      expect((await client.ok(ListEndpointsDocument, {})).endpoints.edges).toEqual([]);
    }

    // A later start finds the workspace and creates none.
    const again = await startHookpost(config, createLogger(config), ["api"]);
    stops.push(again.stop);
    expect(await db.prisma.workspace.count()).toBe(1);
  });

  it("a worker whose WORKER_PORT is taken does not start, and closes what it opened", async () => {
    const taken = createServer();
    const port = await listen(taken, 0, "127.0.0.1");
    try {
      const config = loadConfig(testEnv({ DATABASE_URL: db.url, WORKER_PORT: String(port) }));
      cleanups.push(() => deleteRedisKeys(config.redis.url, config.redis.prefix));
      await expect(startHookpost(config, createLogger(config), ["worker"])).rejects.toThrow(
        /port \d+ is already in use; .* set WORKER_PORT/,
      );
      // Its Redis connections were open (the live feed had subscribed to its announcements channel):
      // a connection left open would keep that subscription, and the process, alive.
      const redis = new Redis(config.redis.url);
      try {
        const channel = listeningChannel(config.redis.prefix);
        const subscribers = async () =>
          Number(((await redis.pubsub("NUMSUB", channel)) as [string, number])[1]);
        await waitFor(async () => (await subscribers()) === 0, "its subscription to end");
      } finally {
        redis.disconnect();
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
