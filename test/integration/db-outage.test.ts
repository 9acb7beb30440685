import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateEndpointDocument, PublishEventsDocument } from "../generated/graphql.ts";
import { SERVER_URL } from "../support/db.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const EVENTS = 200;
const WAIT_MS = 60_000;

/**
 * PostgreSQL goes away for the test's database while attempts are in flight:
 * every connection is ended and new ones are refused, as in an outage. The
 * worker must stop starting sends until attempts can be recorded again, and
 * send no delivery twice.
 */
describe("while attempts cannot be recorded", { timeout: 4 * WAIT_MS }, () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  let admin: pg.Client;
  const database = () => new URL(hp.db.url).pathname.slice(1);

  async function setReachable(reachable: boolean) {
    await admin.query(`ALTER DATABASE "${database()}" ALLOW_CONNECTIONS ${reachable}`);
    if (!reachable) {
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [database()],
      );
    }
  }
  const readiness = async () =>
    (await (await fetch(hp.url.replace(/\/graphql$/, "/readyz"))).json()) as {
      checks: Record<string, string>;
    };
  const pausedGauge = async () => {
    const text = await (await fetch(hp.url.replace(/\/graphql$/, "/metrics"))).text();
    return Number(/^hookpost_sends_paused (\d+)$/m.exec(text)?.[1]);
  };

  beforeAll(async () => {
    hp = await startTestHookpost({ env: { WORKER_CONCURRENCY: "20", DELIVERY_TIMEOUT_MS: "10000" } });
    admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
  });
  afterAll(async () => {
    if (hp) await setReachable(true).catch(() => undefined);
    await admin?.end();
    await hp?.stop();
    await receiver?.close();
  });

  it("stops starting sends, says so, and resumes without sending anything twice", async () => {
    // Slow answers keep attempts in flight when the database goes.
    receiver = await startReceiver(() => ({ status: 200, delayMs: 300 }));
    const { client } = hp.workspace;
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.sent"] },
    });
    const { publishEvents } = await client.ok(PublishEventsDocument, {
      inputs: Array.from({ length: EVENTS }, (_, n) => ({ type: "email.sent", data: { n } })),
    });
    const eventIds = publishEvents.map((e) => e.id);

    await waitFor(() => receiver.requests.length >= 20, "the first sends", WAIT_MS);
    await setReachable(false);
    try {
      const paused = await waitFor(
        async () => ((await readiness()).checks.sends !== "ok" ? readiness() : null),
        "/readyz to say sends are paused",
        WAIT_MS,
      );
      expect(paused.checks.sends).toMatch(/paused/);
      expect(await pausedGauge()).toBe(1);
      // What was in flight finishes; nothing new starts while the database is away.
      const inFlightDone = await waitFor(
        async () => {
          const before = receiver.requests.length;
          await new Promise((r) => setTimeout(r, 1_000));
          return receiver.requests.length === before ? before : null;
        },
        "the sends in flight to end",
        WAIT_MS,
      );
      expect(receiver.requests.length).toBe(inFlightDone);
      expect(inFlightDone).toBeLessThan(EVENTS);
    } finally {
      await setReachable(true);
    }

    await waitFor(
      async () =>
        (await hp.db.prisma.delivery.count({
          where: { endpointId: createEndpoint.endpoint.id, status: "SUCCEEDED" },
        })) === EVENTS,
      "every delivery to succeed",
      WAIT_MS,
    );
    expect((await readiness()).checks.sends).toBe("ok");
    expect(await pausedGauge()).toBe(0);
    const sends = new Map<string, number>();
    for (const r of receiver.requests) {
      const id = String(r.headers["webhook-id"]);
      sends.set(id, (sends.get(id) ?? 0) + 1);
    }
    expect([...sends.keys()].sort()).toEqual([...eventIds].sort());
    expect([...sends].filter(([, n]) => n > 1)).toEqual([]);
    // Every attempt that was made is recorded, once.
    expect(
      await hp.db.prisma.deliveryAttempt.count({ where: { endpointId: createEndpoint.endpoint.id } }),
    ).toBe(EVENTS);
  });
});
