import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpSender } from "../../../src/delivery/httpSender.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A receiver on 127.0.0.1 that records what reached it. */
async function startReceiver(handler: Handler) {
  const received: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const payload = JSON.stringify({ id: "evt_1", type: "email.sent" });
const headers = { "content-type": "application/json", "webhook-id": "evt_1" };
const bodyLimit = 64;

/** A sender with two connections per origin, so that a few requests keep an origin busy. */
const twoConnectionSender = (timeoutMs: number) =>
  createHttpSender({
    timeoutMs,
    responseBodyLimitBytes: bodyLimit,
    outboundAllow: ["127.0.0.0/8"],
    connections: 2,
  });

describe("httpSender", () => {
  const sender = createHttpSender({
    timeoutMs: 5_000,
    responseBodyLimitBytes: bodyLimit,
    outboundAllow: ["127.0.0.0/8"],
  });
  const strictSender = createHttpSender({
    timeoutMs: 5_000,
    responseBodyLimitBytes: bodyLimit,
    outboundAllow: [],
  });
  let echo: Receiver;
  let silent: Receiver;

  beforeAll(async () => {
    echo = await startReceiver((req, body, res) => {
      const path = req.url ?? "/";
      if (path.startsWith("/fail")) return void res.writeHead(500).end("boom");
      if (path.startsWith("/redirect")) return void res.writeHead(302, { location: `${echo.url}/ok` }).end();
      if (path.startsWith("/big")) return void res.writeHead(200).end("é".repeat(10_000)); // 2 bytes each
      res
        .writeHead(200, { "x-receiver": "yes", "set-cookie": ["a=1", "b=2"] })
        .end(`got ${body.length} bytes`);
    });
    silent = await startReceiver(() => {}); // reads the request, never answers
  });

  afterAll(async () => {
    await Promise.all([echo.close(), silent.close()]);
    await Promise.all([sender.close(), strictSender.close()]);
  });

  it("posts the body and headers and returns the response", async () => {
    const result = await sender.send({ url: `${echo.url}/ok?a=1#frag`, headers, body: payload });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      body: `got ${payload.length} bytes`,
      error: null,
      outcome: { kind: "http", status: 200 },
    });
    expect(result.headers).toMatchObject({ "x-receiver": "yes", "set-cookie": "a=1, b=2" });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const request = echo.received.at(-1);
    expect(request).toMatchObject({ method: "POST", url: "/ok?a=1", body: payload });
    expect(request?.headers["webhook-id"]).toBe("evt_1");
  });

  it("reports a 500 as not ok", async () => {
    const result = await sender.send({ url: `${echo.url}/fail`, headers, body: payload });
    expect(result).toMatchObject({
      ok: false,
      status: 500,
      body: "boom",
      outcome: { kind: "http", status: 500 },
    });
  });

  it("does not follow redirects", async () => {
    const before = echo.received.length;
    const result = await sender.send({ url: `${echo.url}/redirect`, headers, body: payload });
    expect(result).toMatchObject({ ok: false, status: 302, outcome: { kind: "http", status: 302 } });
    expect(result.error).toMatch(/redirect to .*\/ok not followed/);
    expect(echo.received.length).toBe(before + 1);
  });

  it("truncates a body larger than the limit at a character boundary", async () => {
    const result = await sender.send({ url: `${echo.url}/big`, headers, body: payload });
    expect(result.ok).toBe(true);
    expect(result.body).toBe("é".repeat(bodyLimit / 2));

    const odd = createHttpSender({
      timeoutMs: 5_000,
      responseBodyLimitBytes: 5,
      outboundAllow: ["127.0.0.0/8"],
    });
    try {
      const cut = await odd.send({ url: `${echo.url}/big`, headers, body: payload });
      expect(cut.body).toBe("éé"); // 5 bytes would end inside the third "é"
    } finally {
      await odd.close();
    }
  });

  it("times out when the receiver never answers", async () => {
    const result = await sender.send({ url: `${silent.url}/`, headers, body: payload, timeoutMs: 300 });
    expect(result).toMatchObject({ ok: false, status: null, outcome: { kind: "timeout" } });
    expect(result.error).toMatch(/timed out after 300 ms/);
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(4_000);
  });

  it("does not time out an answer that arrived while this process was stalled", async () => {
    // Long enough for the request to reach the receiver on a loaded machine; the stall that
    // follows the answer outlasts it however long that took.
    const timeoutMs = 2_000;
    // Answers at once, then stalls the whole process (a loaded machine) past the attempt's timeout.
    const stalling = await startReceiver((_req, _body, res) => {
      res.writeHead(200).end("ok");
      const until = Date.now() + timeoutMs + 500;
      while (Date.now() < until);
    });
    try {
      const result = await sender.send({ url: `${stalling.url}/`, headers, body: payload, timeoutMs });
      expect(result).toMatchObject({ ok: true, status: 200, body: "ok" });
    } finally {
      await stalling.close();
    }
  });

  it("tells the caller once when a receiver is slow to answer, and not when it answers", async () => {
    let slowCalls = 0;
    const onSlow = () => {
      slowCalls += 1;
    };
    const answered = await sender.send({ url: `${echo.url}/ok`, headers, body: payload, onSlow });
    expect(answered.ok).toBe(true);
    const result = await sender.send({
      url: `${silent.url}/`,
      headers,
      body: payload,
      timeoutMs: 1_200,
      onSlow,
    });
    expect(result.outcome).toEqual({ kind: "timeout" });
    // Told once, after 500 ms; the fast answer (before that) never was, not even later.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(slowCalls).toBe(1);
  });

  it("holds an origin that has not answered yet to eight requests in flight, until it answers", async () => {
    const slow = await startReceiver((_req, _body, res) => setTimeout(() => res.end("ok"), 300));
    const wide = createHttpSender({
      timeoutMs: 5_000,
      responseBodyLimitBytes: bodyLimit,
      outboundAllow: ["127.0.0.0/8"],
    });
    const send = () => wide.send({ url: `${slow.url}/`, headers, body: payload });
    try {
      const first = Array.from({ length: 7 }, send);
      expect(wide.isSaturated(`${slow.url}/`)).toBe(false);
      first.push(send());
      expect(wide.isSaturated(`${slow.url}/other`)).toBe(true);
      expect(wide.isSaturated(`${echo.url}/ok`)).toBe(false);
      expect((await Promise.all(first)).every((result) => result.ok)).toBe(true);
      // Once it has answered, eight in flight (of 128 connections) are no reason to wait.
      const more = Array.from({ length: 8 }, send);
      expect(wide.isSaturated(`${slow.url}/`)).toBe(false);
      await Promise.all(more);
    } finally {
      await wide.close();
      await slow.close();
    }
  });

  it("reports an origin that answered before saturated once all its connections are busy and it stops answering", async () => {
    // Answers its first request, then hangs.
    let answered = 0;
    const flaky = await startReceiver((_req, _body, res) => {
      if (answered++ === 0) res.end("ok");
    });
    const narrow = twoConnectionSender(5_000);
    try {
      expect((await narrow.send({ url: `${flaky.url}/`, headers, body: payload })).ok).toBe(true);
      const hanging = [1, 2].map(() =>
        narrow.send({ url: `${flaky.url}/`, headers, body: payload, timeoutMs: 1_500 }),
      );
      // Busy, but not yet slow: its requests have not been waiting long.
      expect(narrow.isSaturated(`${flaky.url}/`)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(narrow.isSaturated(`${flaky.url}/other/path`)).toBe(true);
      expect(narrow.isSaturated(`${echo.url}/ok`)).toBe(false);
      expect(narrow.isSaturated("not a url")).toBe(false);
      await Promise.all(hanging);
      expect(narrow.isSaturated(`${flaky.url}/`)).toBe(false);
    } finally {
      await narrow.close();
      await flaky.close();
    }
  });

  it("does not report a busy origin saturated while it keeps answering, however long its queue has waited", async () => {
    const paced = await startReceiver((_req, _body, res) => setTimeout(() => res.end("ok"), 15));
    const narrow = twoConnectionSender(30_000);
    try {
      const sentAt = performance.now();
      let answered = 0;
      const sends = Array.from({ length: 100 }, () =>
        narrow.send({ url: `${paced.url}/`, headers, body: payload }).then((result) => {
          answered++;
          return result;
        }),
      );
      // Two connections at 15 ms an answer: 70 answers take 525 ms or more, so the requests
      // still waiting were sent over half a second ago; the rest drain in about a quarter of that.
      while (answered < 70) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(performance.now() - sentAt).toBeGreaterThanOrEqual(500);
      expect(narrow.isSaturated(`${paced.url}/`)).toBe(false);
      const results = await Promise.all(sends);
      expect(results.every((result) => result.ok)).toBe(true);
    } finally {
      await narrow.close();
      await paced.close();
    }
  });

  it("stops when the caller aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await sender.send({
      url: `${silent.url}/`,
      headers,
      body: payload,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ ok: false, outcome: { kind: "network" } });
    expect(result.error).toMatch(/aborted/);
    expect(result.durationMs).toBeLessThan(4_000);

    const already = await sender.send({
      url: `${echo.url}/ok`,
      headers,
      body: payload,
      signal: AbortSignal.abort(),
    });
    expect(already).toMatchObject({ ok: false, outcome: { kind: "network" } });
  });

  it("never sends a request whose attempt ended while it waited for a connection", async () => {
    const busy = twoConnectionSender(600);
    try {
      const holding = [1, 2].map((n) =>
        busy.send({ url: `${silent.url}/holding-${n}`, headers, body: payload }),
      );
      const queued = await busy.send({ url: `${silent.url}/queued`, headers, body: payload, timeoutMs: 150 });
      expect(queued).toMatchObject({ ok: false, outcome: { kind: "timeout" } });
      const caller = new AbortController();
      const aborted = busy.send({
        url: `${silent.url}/aborted`,
        headers,
        body: payload,
        signal: caller.signal,
      });
      caller.abort();
      expect(await aborted).toMatchObject({ ok: false, error: "aborted before completion" });
      for (const held of await Promise.all(holding)) expect(held.outcome).toEqual({ kind: "timeout" });
      // The two connections are free again: a request still queued would be written now.
      const after = await busy.send({ url: `${echo.url}/ok`, headers, body: payload });
      expect(after.ok).toBe(true);
      await new Promise((settle) => setTimeout(settle, 200));
      const paths = silent.received.map((r) => r.url).filter((url) => /holding|queued|aborted/.test(url));
      expect(paths.sort()).toEqual(["/holding-1", "/holding-2"]);
    } finally {
      await busy.close();
    }
  });

  it("refuses loopback without an allow-list, by IP literal and by resolved name", async () => {
    const before = echo.received.length;
    const literal = await strictSender.send({ url: `${echo.url}/ok`, headers, body: payload });
    expect(literal).toMatchObject({ ok: false, status: null, outcome: { kind: "network" } });
    expect(literal.error).toMatch(/^address 127\.0\.0\.1 is not allowed/);

    const named = await strictSender.send({
      url: `http://localhost:${echo.port}/ok`,
      headers,
      body: payload,
    });
    expect(named).toMatchObject({ ok: false, status: null, outcome: { kind: "network" } });
    expect(named.error).toMatch(
      /^host localhost is not allowed: it resolves to an address in the loopback range; set OUTBOUND_ALLOW=localhost to allow it$/,
    );

    expect(echo.received.length).toBe(before);
  });

  it("reaches a hostname through the guarded lookup when it is allowed", async () => {
    const result = await sender.send({ url: `http://localhost:${echo.port}/ok`, headers, body: payload });
    expect(result).toMatchObject({ ok: true, status: 200 });
  });

  it("reports a refused connection as a network failure", async () => {
    const closed = await startReceiver(() => {});
    await closed.close();
    const result = await sender.send({ url: `${closed.url}/`, headers, body: payload });
    expect(result).toMatchObject({ ok: false, status: null, outcome: { kind: "network" } });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });
});
