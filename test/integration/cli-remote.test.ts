import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshBundle } from "../../scripts/build.mjs";
import { listen } from "../../src/http/listen.ts";
import { CreateEndpointDocument, PublishEventsDocument } from "../generated/graphql.ts";
import { listDeliveries } from "../support/deliveries.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const EVENTS = 12;
/** The bar of a progress line: `[####----…]`. */
const PROGRESS_BAR = /\[[#-]{30}\]/;

type Cli = { child: ChildProcess; stdout(): string; stderr(): string; exit: Promise<number | null> };

/** Runs `hookpost <args>` as a user does (bin/hookpost.js), pointed at `hp` with its workspace's key. */
function hookpost(hp: TestHookpost, args: string[]): Cli {
  const child = spawn(process.execPath, ["bin/hookpost.js", ...args], {
    cwd: REPO,
    env: { ...process.env, HOOKPOST_URL: hp.url, HOOKPOST_API_KEY: hp.workspace.apiKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c) => {
    stdout += c;
  });
  child.stderr!.on("data", (c) => {
    stderr += c;
  });
  const exit = new Promise<number | null>((resolve) => child.once("close", resolve));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function completed(cli: Cli) {
  const code = await cli.exit;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

describe("the CLI against a running api", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  let endpointId: string;
  const running: Cli[] = [];

  beforeAll(async () => {
    await freshBundle();
    // Small replay batches: the replay reports progress several times before it completes.
    hp = await startTestHookpost({ env: { REPLAY_BATCH_SIZE: "3" } });
    receiver = await startReceiver();
    const { createEndpoint } = await hp.workspace.client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.*"], description: "cli" },
    });
    endpointId = createEndpoint.endpoint.id;
  });
  afterAll(async () => {
    for (const cli of running) cli.child.kill("SIGKILL");
    await receiver?.close();
    await hp?.stop();
  });

  it("`endpoints list` prints every endpoint of the workspace", async () => {
    const run = await completed(hookpost(hp, ["endpoints", "list"]));
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout.trim().split("\n")).toEqual([`${endpointId}  ${receiver.url}  email.*  enabled`]);
  });

  it("`endpoints list` without a valid key says what the api answered, on one line", async () => {
    const cli = spawn(process.execPath, ["bin/hookpost.js", "endpoints", "list"], {
      cwd: REPO,
      env: { ...process.env, HOOKPOST_URL: hp.url, HOOKPOST_API_KEY: "hp_not_a_key" },
    });
    let stderr = "";
    cli.stderr.on("data", (c) => {
      stderr += c;
    });
    const code = await new Promise((resolve) => cli.once("close", resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^hookpost: http:\/\/127\.0\.0\.1:\d+\/graphql answered: .*\(UNAUTHENTICATED\)\n$/,
    );
  });

  it("`tail` prints each delivery attempt as it is made", async () => {
    const tail = hookpost(hp, ["tail", "--endpoint", endpointId, "--type", "email.*"]);
    running.push(tail);
    await waitFor(() => tail.stderr().includes("tailing delivery attempts"), "tail to connect");
    // Publishes until one attempt shows: the subscription starts a moment after the connection.
    const published: string[] = [];
    await waitFor(async () => {
      const { publishEvents } = await hp.workspace.client.ok(PublishEventsDocument, {
        inputs: [{ type: "email.delivered", data: { n: published.length } }],
      });
      published.push(publishEvents[0]!.id);
      return published.some((id) => tail.stdout().includes(id));
    }, "an attempt in tail's output");
    await waitFor(
      () => published.every((id) => tail.stdout().includes(id)),
      "every published event's attempt",
    );
    const lines = tail.stdout().trim().split("\n");
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^\\S+Z  ${published.at(-1)}  email\\.delivered  #1  200 ok  \\d+ms  ${receiver.url}  \\S+$`,
      ),
    );
    tail.child.kill("SIGINT");
    expect(await tail.exit).toBe(0);
  });

  it("`replay` shows progress until the replay is COMPLETED", async () => {
    await hp.workspace.client.ok(PublishEventsDocument, {
      inputs: Array.from({ length: EVENTS }, (_, n) => ({ type: "email.sent", data: { n } })),
    });
    await waitFor(async () => {
      const deliveries = await listDeliveries(hp.workspace.client, { endpointId });
      return deliveries.length >= EVENTS && deliveries.every((d) => d.status === "SUCCEEDED");
    }, "the events' first deliveries");
    const before = receiver.requests.length;

    const run = await completed(hookpost(hp, ["replay", "--since", "1h", "--type", "email.sent"]));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const [header, ...progress] = run.stdout.trim().split("\n");
    expect(header).toMatch(/^replay \S+$/);
    for (const line of progress) expect(line).toMatch(PROGRESS_BAR);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(
      `COMPLETED [${"#".repeat(30)}] ${EVENTS}/${EVENTS} delivered ${EVENTS} failed 0`,
    );
    expect(receiver.requests.length - before).toBe(EVENTS);
  });

  it("`replay` asks for progress when no WebSocket gets through, and still ends at COMPLETED", async () => {
    // An HTTP-only proxy in front of the api, refusing WebSocket upgrades as some proxies do.
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const answer = await fetch(hp.url, {
          method: req.method,
          headers: { "content-type": "application/json", authorization: req.headers.authorization ?? "" },
          body: Buffer.concat(chunks),
        });
        res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
      });
    });
    proxy.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 426 Upgrade Required\r\n\r\n"));
    const port = await listen(proxy, 0, "127.0.0.1");
    try {
      const url = `http://127.0.0.1:${port}/graphql`;
      const run = await completed(
        hookpost(hp, ["replay", "--since", "1h", "--type", "email.sent", "--url", url]),
      );
      expect(run.stderr).toMatch(/^no live progress \(.*426.*\); asking every 1 s\n$/);
      expect(run.code).toBe(0);
      expect(run.stdout.trim().split("\n").at(-1)).toMatch(
        /^COMPLETED \[#{30}\] (\d+)\/\1 delivered \1 failed 0$/,
      );
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("`help` answers fast (loosely bounded: the machine may be busy)", async () => {
    const startedAt = performance.now();
    const run = await completed(hookpost(hp, ["help"]));
    const elapsedMs = performance.now() - startedAt;
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/hookpost replay --since|replay --since/);
    expect(elapsedMs).toBeLessThan(5_000);
  });
});
