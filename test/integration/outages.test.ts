import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkspace } from "../../src/services/workspaces.ts";
import { createTestDatabase, SERVER_URL, type TestDatabase } from "../support/db.ts";
import { testEnv } from "../support/hookpost.ts";
import { type HookpostProcess, spawnHookpost } from "../support/processes.ts";
import { postGraphql } from "../support/rawGraphql.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.ts";
import { waitFor } from "../support/wait.ts";

const PUBLISH = `mutation ($input: PublishEventInput!) { publishEvent(input: $input) { id } }`;
const EVENT = { input: { type: "email.sent", data: { to: "a@example.com" } } };

/** An api process whose PostgreSQL goes away (a proxy between them is cut) and comes back. */
describe("PostgreSQL unreachable", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let api: HookpostProcess;
  let authorization: string;
  const publish = () => postGraphql(api.url!, authorization, PUBLISH, EVENT);

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await startTcpProxy(Number(new URL(SERVER_URL).port || 5432));
    const proxied = new URL(db.url);
    proxied.port = String(proxy.port);
    api = await spawnHookpost("api", testEnv({ DATABASE_URL: proxied.toString() }));
    const { apiKey } = await createWorkspace(db.prisma, "outage");
    authorization = `Bearer ${apiKey}`;
  }, 240_000);
  afterAll(async () => {
    await api?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it("answers SERVICE_UNAVAILABLE with retryAfterSeconds, logs the cause, and recovers", async () => {
    expect((await publish()).body.errors).toBeUndefined();
    await proxy.cut();

    const { status, headers, body } = await publish();
    expect(status).toBe(503);
    expect(headers["retry-after"]).toBe("5");
    expect(body.errors?.[0]).toMatchObject({
      extensions: { code: "SERVICE_UNAVAILABLE", retryAfterSeconds: 5 },
    });
    expect(body.errors?.[0]?.message).not.toMatch(/127\.0\.0\.1|5432|database server/);
    const logged = await waitFor(
      () =>
        api
          .logs()
          .split("\n")
          .find((line) => line.includes("a dependency is unavailable")),
      "the outage in the log",
    );
    expect(JSON.parse(logged)).toMatchObject({
      level: 50,
      requestId: expect.any(String),
      err: expect.any(Object),
    });

    await proxy.restore();
    await waitFor(async () => (await publish()).body.errors === undefined, "publishing again");
  });

  it("tells /readyz callers only up or down, and logs why", async () => {
    await proxy.cut();
    try {
      const res = await fetch(`${api.base}/readyz`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({
        status: "unavailable",
        checks: { process: "ok", database: "down", redis: "ok", sends: "ok" },
      });
      expect(text).not.toMatch(/127\.0\.0\.1|\d{4,5}|reach/);
      await waitFor(() => api.logs().includes("readiness check failed"), "the readiness failure in the log");
    } finally {
      await proxy.restore();
    }
  });
});
