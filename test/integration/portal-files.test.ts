import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** A raw GET (or HEAD): fetch would hide content-encoding and undo gzip. */
function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/app-3f2a1b.js"></script></head></html>';
const SCRIPT = `console.log(${JSON.stringify("x".repeat(2_000))});`;

describe("the web app served by the api", () => {
  let root: string;
  let dist: string;
  let hp: TestHookpost;
  let bare: TestHookpost;
  let base: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "hookpost-web-"));
    dist = join(root, "dist");
    await mkdir(join(dist, "assets"), { recursive: true });
    await writeFile(join(dist, "index.html"), INDEX);
    await writeFile(join(dist, "assets", "app-3f2a1b.js"), SCRIPT);
    await writeFile(join(dist, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    await writeFile(join(root, "outside-web-dist.txt"), "secret");
    hp = await startTestHookpost({ env: { WEB_DIST_DIR: dist }, roles: ["api"] });
    base = new URL(hp.url).origin;
  });
  afterAll(async () => {
    await hp?.stop();
    await bare?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("serves index.html at / and at any client route, revalidated each time", async () => {
    for (const path of ["/", "/endpoints", "/endpoints/ep_123/deliveries?status=FAILED", "/live"]) {
      const res = await get(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(res.headers["cache-control"]).toBe("no-cache");
      expect(res.body.toString()).toBe(INDEX);
      // Embeddable anywhere unless WEB_FRAME_ANCESTORS says otherwise.
      expect(res.headers["content-security-policy"]).toBeUndefined();
      expect(res.headers["x-frame-options"]).toBeUndefined();
    }
  });

  it("serves hashed assets with a year-long immutable cache, gzipped when asked, and answers 304 to a known ETag", async () => {
    const res = await get(`${base}/assets/app-3f2a1b.js`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.body.toString()).toBe(SCRIPT);

    const zipped = await get(`${base}/assets/app-3f2a1b.js`, { "accept-encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.body.length).toBeLessThan(SCRIPT.length / 4);
    expect(gunzipSync(zipped.body).toString()).toBe(SCRIPT);

    const etag = String(res.headers.etag);
    expect((await get(`${base}/assets/app-3f2a1b.js`, { "if-none-match": etag })).status).toBe(304);
    const head = await get(`${base}/assets/app-3f2a1b.js`, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers["content-length"]).toBe(String(SCRIPT.length));
  });

  it("answers 404 for missing files and never serves outside its folder", async () => {
    expect((await get(`${base}/assets/app-000000.js`)).status).toBe(404);
    for (const path of [
      "/../outside-web-dist.txt",
      "/%2e%2e/outside-web-dist.txt",
      "/assets/%2e%2e/%2e%2e/outside-web-dist.txt",
    ]) {
      const res = await get(`${base}${path}`);
      expect(res.body.toString(), path).not.toContain("secret");
    }
    const icon = await get(`${base}/favicon.svg`);
    expect(icon.headers["content-type"]).toBe("image/svg+xml");
    expect(icon.headers["cache-control"]).toBe("no-cache");
  });

  it("leaves /graphql, GraphiQL, the health routes and /inbound to the api", async () => {
    const graphiql = await get(`${base}/graphql`, { accept: "text/html" });
    expect(graphiql.status).toBe(200);
    expect(graphiql.body.toString()).toContain("GraphiQL");
    const query = await get(`${base}/graphql?query=${encodeURIComponent("{ eventTypes { name } }")}`, {
      accept: "application/json",
    });
    expect(JSON.parse(query.body.toString()).data.eventTypes.length).toBeGreaterThan(0);
    expect(JSON.parse((await get(`${base}/healthz`)).body.toString())).toEqual({ status: "ok" });
    expect((await get(`${base}/readyz`)).headers["content-type"]).toBe("application/json");
    expect((await get(`${base}/metrics`)).body.toString()).not.toContain("<!doctype html>");
    expect((await get(`${base}/inbound/src_missing`)).body.toString()).not.toBe(INDEX);
  });

  it("says to run npm run build when there is no build, and lets only WEB_FRAME_ANCESTORS frame it", async () => {
    const env = { WEB_DIST_DIR: join(dist, "missing"), WEB_FRAME_ANCESTORS: "https://app.example.com" };
    bare = await startTestHookpost({ env, roles: ["api"] });
    const res = await get(`${new URL(bare.url).origin}/`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toBe("frame-ancestors https://app.example.com");
    expect(res.body.toString()).toContain("npm run build");
  });
});
