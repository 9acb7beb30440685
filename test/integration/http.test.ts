import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";

describe("HTTP routes", () => {
  let hp: TestHookpost;
  let base: string;
  beforeAll(async () => {
    hp = await startTestHookpost({ roles: ["api"] });
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
      checks: { process: "ok", database: "ok", redis: "ok" },
    });
  });

  it("serves Prometheus metrics with delivery counters and queue depth", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^hookpost_delivery_attempts_total\{result="success"\} \d+$/m);
    expect(text).toMatch(/^hookpost_delivery_queue_jobs\{state="waiting"\} 0$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
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
