import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE, freshBundle } from "../../scripts/build.mjs";
import { listen } from "../../src/http/listen.ts";
import { ListEndpointsDocument } from "../generated/graphql.ts";
import { graphqlClient } from "../support/graphql.ts";
import { testEnv } from "../support/hookpost.ts";
import { freePort } from "../support/processes.ts";
import { deleteRedisKeys } from "../support/redis.ts";
import { waitFor } from "../support/wait.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const API_KEY = /\bhp_[A-Za-z0-9_-]{20,}/;
/** A line of a stack trace. */
const STACK_LINE = /^\s+at /m;
// The first start creates the embedded database: seconds idle, a minute or more on a loaded machine.
const FIRST_START_TIMEOUT_MS = 240_000;

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs `hookpost <args>` as a user does (bin/hookpost.js) and collects what it printed. */
function hookpost(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ["bin/hookpost.js", ...args], {
    cwd: REPO,
    env: { ...withoutDatabaseUrl(process.env), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

function withoutDatabaseUrl(env: NodeJS.ProcessEnv): Record<string, string> {
  const { DATABASE_URL: _unused, ...rest } = env;
  return rest as Record<string, string>;
}

describe("the CLI's answers", { timeout: 120_000 }, () => {
  it("`help` answers from the bundle as built, without building it again", async () => {
    await freshBundle();
    const builtAt = statSync(BUNDLE).mtimeMs;
    const run = await hookpost(["help"], {});
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^Usage: hookpost <command>/);
    expect(statSync(BUNDLE).mtimeMs).toBe(builtAt);
  });

  it("an unknown command is named on one line, before the usage, with exit code 2", async () => {
    const run = await hookpost(["frobnicate"], {});
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe("unknown command: frobnicate");
    expect(run.stderr).toMatch(/Usage: hookpost <command>/);
  });

  it("a port in use stops the start with one line naming the port and the setting", async () => {
    const taken = createServer();
    const port = await listen(taken, 0, "127.0.0.1");
    try {
      const dataDir = await mkdtemp(join(tmpdir(), "hp-cli-port-"));
      const run = await hookpost(["start"], testEnv({ DATA_DIR: dataDir, PORT: String(port) }));
      await rm(dataDir, { recursive: true, force: true });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toBe(
        `hookpost: port ${port} is already in use; stop what uses it, or set PORT to a free port\n`,
      );
      expect(run.stdout).not.toMatch(STACK_LINE);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("a database it cannot reach is said in one line", async () => {
    const url = `postgresql://postgres@127.0.0.1:${await freePort()}/nowhere`;
    const run = await hookpost(["workspace", "create", "acme"], { DATABASE_URL: url, LOG_LEVEL: "silent" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^hookpost: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/nowhere: .*ECONNREFUSED.*\n$/,
    );
  });
});

describe("`hookpost start` on the embedded database, with the CLI beside it", () => {
  let dataDir: string;
  let env: Record<string, string>;
  let server: ChildProcess;
  let output = "";
  let port: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "hp-cli-embedded-"));
    port = await freePort();
    env = testEnv({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "info" });
    server = spawn(process.execPath, ["bin/hookpost.js", "start"], {
      cwd: REPO,
      env: { ...withoutDatabaseUrl(process.env), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout?.on("data", (c) => {
      output += c;
    });
    server.stderr?.on("data", (c) => {
      output += c;
    });
    await waitFor(
      async () => {
        if (server.exitCode !== null || server.signalCode !== null)
          throw new Error(`hookpost start exited:\n${output}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      "hookpost start to be ready",
      FIRST_START_TIMEOUT_MS,
    );
  }, FIRST_START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    await deleteRedisKeys(env.REDIS_URL!, env.REDIS_PREFIX!);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("says it is preparing the embedded database, then how long that took", () => {
    const preparing = output.indexOf("preparing the embedded database");
    const ready = output.search(/embedded database ready in \d+(\.\d)? s/);
    expect(preparing, output).toBeGreaterThanOrEqual(0);
    expect(ready, output).toBeGreaterThan(preparing);
  });

  it("`workspace create` works beside it, through its database, and the key authenticates", {
    timeout: 120_000,
  }, async () => {
    const run = await hookpost(["workspace", "create", "acme"], { ...env, LOG_LEVEL: "silent" });
    expect(run, output).toMatchObject({ code: 0, stderr: "" });
    const apiKey = run.stdout.match(API_KEY)?.[0];
    expect(apiKey, run.stdout).toBeDefined();
    const client = graphqlClient(`http://127.0.0.1:${port}/graphql`, `Bearer ${apiKey}`);
    expect((await client.ok(ListEndpointsDocument, {})).endpoints.edges).toEqual([]);
  });

  it("`migrate` works beside it", { timeout: 120_000 }, async () => {
    const run = await hookpost(["migrate"], { ...env, LOG_LEVEL: "silent" });
    expect(run).toMatchObject({ code: 0, stderr: "" });
  });

  it("a second `start` on the same data dir is refused in one line", { timeout: 120_000 }, async () => {
    const run = await hookpost(["start"], { ...env, PORT: String(await freePort()) });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^hookpost: the embedded database in .* is in use by process \d+; .*DATABASE_URL/,
    );
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});
