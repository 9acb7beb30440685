import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";

const BODY_LIMIT = 20_000;

/** POSTs `chunks` to /graphql with chunked transfer encoding (no Content-Length). */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // A refused body may be answered before it is all sent; the answer is what counts.
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe("HTTP routes", () => {
  let hp: TestHookpost;
  let base: string;
  beforeAll(async () => {
    hp = await startTestHookpost({ roles: ["api"], env: { REQUEST_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    base = hp.url.replace(/\/graphql$/, "");
  });
  afterAll(async () => {
    await hp?.stop();
  });

  it("answers /healthz and /readyz with the database and Redis checked", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ok",
      checks: { process: "ok", database: "ok", redis: "ok", sends: "ok" },
    });
  });

  it("serves Prometheus metrics with delivery counters and queue depth", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^hookpost_delivery_attempts_total\{outcome="2xx"\} \d+$/m);
    expect(text).toMatch(/^hookpost_queue_jobs\{queue="delivery",state="waiting"\} 0$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it("refuses a body over REQUEST_BODY_LIMIT_BYTES by its Content-Length, and reads one under it", async () => {
    const query = (padding: number) => JSON.stringify({ query: `{ __typename }#${"x".repeat(padding)}` });
    const over = await fetch(hp.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: query(BODY_LIMIT),
    });
    expect(over.status).toBe(413);
    expect((await over.json()).errors[0].extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
    const under = await fetch(hp.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: query(BODY_LIMIT - 100),
    });
    expect(under.status).toBe(200);
    expect(await under.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("counts a chunked body (no Content-Length) against the limit as it arrives", async () => {
    const over = await postChunked(hp.url, [
      '{"query":"{ __typename }#',
      ...Array.from({ length: 5 }, () => "x".repeat(BODY_LIMIT / 4)),
      '"}',
    ]);
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body).errors[0].extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
    const under = await postChunked(hp.url, ['{"query":', '"{ __typename }"}']);
    expect(under.status).toBe(200);
    expect(JSON.parse(under.body)).toEqual({ data: { __typename: "Query" } });
  });

  it("serves GraphiQL from the package, with no CDN", async () => {
    const res = await fetch(`${base}/graphql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<title>Hookpost</title>");
    expect(html).not.toMatch(/<script[^>]+src="https?:\/\/(unpkg|cdn)/);
  });

  it("rejects unauthenticated GraphQL with UNAUTHENTICATED", async () => {
    const res = await fetch(hp.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ endpoints { edges { node { id } } } }" }),
    });
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe("UNAUTHENTICATED");
  });
});
