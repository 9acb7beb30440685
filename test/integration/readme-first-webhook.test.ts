import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/processes.ts";
import { deleteRedisKeys } from "../support/redis.ts";
import { waitFor } from "../support/wait.ts";

/**
 * The README's newcomer path, by its own commands: `npm start` (the install is
 * this checkout's), then the "Your first webhook" blocks, to a delivery whose
 * signature the receiver verified with standardwebhooks. On the embedded
 * database (no DATABASE_URL) in a fresh DATA_DIR, as a newcomer runs it; only
 * the ports and the key printed at first start are put in.
 */
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(REPO, "README.md"), "utf8");
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** The first ```sh block after `heading` (the start of a line of the README). */
function shellBlockAfter(heading: string): string {
  const at = README.indexOf(`\n${heading}`);
  expect(at, `README has ${heading}`).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  expect(block, `a sh block after ${heading}`).not.toBeNull();
  return block![1]!.trim();
}

/** `text` with `from` replaced by `to`, which the README must still contain. */
function put(text: string, from: string, to: string): string {
  expect(text, `the README's commands still contain ${from}`).toContain(from);
  return text.replaceAll(from, to);
}

type Shell = { child: ChildProcess; output(): string; stop(): Promise<void> };

/** Runs commands in bash, in a process group of their own, as a terminal would. */
function shell(commands: string, env: Record<string, string>): Shell {
  const child = spawn("bash", ["-c", commands], { cwd: REPO, env, detached: true });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return {
    child,
    output: () => output,
    async stop() {
      try {
        process.kill(-child.pid!, "SIGTERM"); // Ctrl-C's reach: npm, node and what they started
      } catch {
        return; // already gone
      }
      await exited;
    },
  };
}

/** A newcomer's environment: none of the test settings, no DATABASE_URL. */
function newcomerEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(DATABASE_URL|OUTBOUND_ALLOW|NODE_ENV|PORT|VITEST.*|TEST_.*)$/.test(name))
      env[name] = value;
  }
  return { ...env, REDIS_URL, ...extra };
}

async function healthy(port: number, server: Shell): Promise<void> {
  await waitFor(
    async () => {
      if (server.child.exitCode !== null) throw new Error(`the server exited:\n${server.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    },
    "the server to answer /healthz",
    240_000,
  );
}

const graphql = async (port: number, key: string, query: string) =>
  (await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ query }),
  }).then((res) => res.json())) as { data?: unknown; errors?: { message: string }[] };

describe("README: npm start, then the first webhook", () => {
  const running: Shell[] = [];
  const redisPrefix = `hp-readme-${randomBytes(5).toString("hex")}`;
  let dataDir = "";

  afterAll(async () => {
    for (const each of running.reverse()) await each.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await deleteRedisKeys(REDIS_URL, redisPrefix);
  });

  it("reaches a verified delivery at a local receiver", { timeout: 900_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), "hookpost-readme-"));
    const port = await freePort();
    const receiverPort = await freePort();
    const env = newcomerEnv({ DATA_DIR: dataDir, PORT: String(port), REDIS_PREFIX: redisPrefix });

    // Run it: `npm install && npm start`; this checkout is installed already.
    const runIt = shellBlockAfter("## Run it");
    expect(runIt).toBe("npm install && npm start");
    const start = shell(runIt.replace(/^npm install && /, ""), env);
    running.push(start);
    await healthy(port, start);
    const key = /\bhp_[\w-]{43}\b/.exec(start.output())?.[0];
    expect(key, `the first start prints an API key:\n${start.output()}`).toBeDefined();

    // npm start refuses a loopback receiver, and says how to allow it.
    const refused = await graphql(
      port,
      key!,
      `mutation { createEndpoint(input: {url: "http://127.0.0.1:${receiverPort}/hooks", eventTypes: ["*"]}) { secret } }`,
    );
    expect(refused.errors?.[0]?.message).toMatch(/OUTBOUND_ALLOW=127\.0\.0\.1/);
    await start.stop();

    // Your first webhook: the server block, then the steps in a second terminal.
    const dev = shell(shellBlockAfter("<!-- first-webhook: server"), env);
    running.push(dev);
    await healthy(port, dev);
    let steps = shellBlockAfter("<!-- first-webhook: steps -->");
    steps = put(steps, "KEY=hp_…", `KEY=${key}`);
    steps = put(steps, "localhost:4000", `localhost:${port}`);
    steps = put(steps, "127.0.0.1:3000", `127.0.0.1:${receiverPort}`);
    const terminal = shell(steps, { ...env, RECEIVER_PORT: String(receiverPort) });
    running.push(terminal);

    const published = await waitFor(
      () => /"publishEvent":\{"id":"(evt_\w+)"\}/.exec(terminal.output())?.[1],
      "the publish to answer",
    );
    const verified = await waitFor(
      () => /^verified (\S+) (evt_\w+)$/m.exec(terminal.output()),
      "the receiver to verify a delivery",
    );
    expect(verified.slice(1)).toEqual(["email.delivered", published]);
    expect(terminal.output()).not.toMatch(/^rejected/m);
  });
});
