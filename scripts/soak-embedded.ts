// Soak of the embedded database: runs `hookpost start` on a fresh embedded
// database, then for SOAK_MINUTES (default 60) publishes bursts of events
// through GraphQL with idle gaps longer and shorter than the pool's idle
// timeout, waits for each burst to reach a local receiver, and every few
// rounds runs `hookpost workspace create` beside it.
// Prints one progress line per round; exits 1 at the first failure.
//   npm run soak:embedded              (an hour; needs Redis, see REDIS_URL)
//   SOAK_MINUTES=5 npm run soak:embedded
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freshBundle } from "./build.mjs";

const REPO = new URL("..", import.meta.url).pathname;
const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
/** Shorter than pg's default so an hour holds many replaced connections; gaps go up to twice it. */
const IDLE_TIMEOUT_MS = 5_000;
const BURST_EVENTS = 20;
const CLI_EVERY_ROUNDS = 5;

const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { id } }`;
const CREATE_ENDPOINT = `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret } }`;
/** How long a burst may take to reach the receiver before the soak fails. */
const DELIVERY_TIMEOUT_MS = 60_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsed = (since: number) => `${((Date.now() - since) / 60_000).toFixed(1)} min`;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "hp-soak-"));
  const port = await freePort();
  let received = 0;
  const receiver = createHttpServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  const env = {
    ...inherited,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    REDIS_PREFIX: `hp-soak-${process.pid}`,
    DATABASE_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    OUTBOUND_ALLOW: "127.0.0.1/32",
  };
  await freshBundle();
  const started = Date.now();
  process.stdout.write(`starting hookpost on a new embedded database in ${dataDir}…\n`);
  const server: ChildProcess = spawn(process.execPath, ["bin/hookpost.js", "start"], {
    cwd: REPO,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    await new Promise((resolve) => receiver.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    while (
      !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (server.exitCode !== null || server.signalCode !== null) throw new Error("hookpost start exited");
      await sleep(500);
    }
    process.stdout.write(`ready after ${elapsed(started)}\n`);
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["bin/hookpost.js", ...args], { cwd: REPO, env });
    const apiKey = (await cli("workspace", "create", "soak")).stdout.match(/\bhp_[A-Za-z0-9_-]{20,}/)?.[0];
    if (!apiKey) throw new Error("workspace create printed no key");

    const graphql = async (query: string, input: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ query, variables: { input } }),
      });
      const body = (await res.json()) as { errors?: unknown[] };
      if (body.errors) throw new Error(`GraphQL request failed: ${JSON.stringify(body.errors)}`);
    };
    await graphql(CREATE_ENDPOINT, { url: receiverUrl, eventTypes: ["*"] });
    const allDelivered = async (count: number) => {
      const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
      while (received < count) {
        if (Date.now() > deadline) throw new Error(`${received} of ${count} events delivered`);
        await sleep(100);
      }
    };

    const soakStarted = Date.now();
    let published = 0;
    for (let round = 1; Date.now() - soakStarted < MINUTES * 60_000; round++) {
      for (let i = 0; i < BURST_EVENTS; i++) {
        await graphql(PUBLISH, { type: "email.sent", data: { n: published++ } });
      }
      await allDelivered(published);
      if (round % CLI_EVERY_ROUNDS === 0) await cli("workspace", "create", `soak-${round}`);
      const gapMs = Math.round(Math.random() * 2 * IDLE_TIMEOUT_MS);
      process.stdout.write(
        `round ${round}: ${published} events published and delivered, ${elapsed(soakStarted)} of ${MINUTES} min; ` +
          `idle ${gapMs} ms\n`,
      );
      await sleep(gapMs);
    }
    process.stdout.write(
      `soak passed: ${published} events delivered over ${elapsed(soakStarted)}, no errors\n`,
    );
  } finally {
    await stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`soak failed: ${err.message}\n`);
  process.exit(1);
});
