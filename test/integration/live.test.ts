import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Client } from "graphql-ws";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LiveTopic, liveChannel } from "../../src/pubsub/topics.ts";
import { createWorkspace } from "../../src/services/workspaces.ts";
import {
  CreateEndpointDocument,
  GetDeliveryDocument,
  LiveDeliveryAttemptsDocument,
  type LiveDeliveryAttemptsSubscription,
  LiveEndpointUpdatesDocument,
  LiveReplayProgressDocument,
  type LiveReplayProgressSubscription,
  PublishEventDocument,
  PublishEventsDocument,
  ReplayEventsDocument,
} from "../generated/graphql.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { type GraphqlClient, graphqlClient } from "../support/graphql.ts";
import { testEnv } from "../support/hookpost.ts";
import { type Live, sseSubscribe, wsClient, wsSubscribe } from "../support/live.ts";
import { type HookpostProcess, spawnHookpost } from "../support/processes.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { deleteRedisKeys } from "../support/redis.ts";
import { waitFor } from "../support/wait.ts";

/** Three processes booting (migrations) at once on a busy 2-core machine take a while. */
const PROCESSES_TIMEOUT_MS = 300_000;
/** Outcomes cross three processes, Redis and PostgreSQL: generous bounds for a busy machine. */
const OUTCOME_TIMEOUT_MS = 60_000;
const until = <T>(check: () => T | Promise<T>, what: string) => waitFor(check, what, OUTCOME_TIMEOUT_MS);

type Attempt = LiveDeliveryAttemptsSubscription["deliveryAttempts"];
type ReplayState = LiveReplayProgressSubscription["replayProgress"];

/** A receiver that holds every request until release(), then answers 200: deliveries that wait for the test. */
async function startHoldingReceiver() {
  const held: ServerResponse[] = [];
  let released = false;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => (released ? res.end("ok") : held.push(res)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/held`,
    held,
    release() {
      released = true;
      for (const res of held.splice(0)) res.end("ok");
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const STAGE = { QUEUED: 0, RUNNING: 1, COMPLETED: 2, CANCELLED: 2, FAILED: 2 };
const progress = (r: ReplayState) => r.total + r.enqueued + r.delivered + r.failed;

/** Attempt numbers of each delivery, in the order they arrived. */
function numbersByDelivery(attempts: readonly Attempt[]): Record<string, number[]> {
  const byDelivery: Record<string, number[]> = {};
  for (const a of attempts) byDelivery[a.deliveryId] = [...(byDelivery[a.deliveryId] ?? []), a.number];
  return byDelivery;
}

describe("live feed across api and worker processes", { timeout: 4 * OUTCOME_TIMEOUT_MS }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let receiver: Receiver;
  let redis: Redis;
  const processes: HookpostProcess[] = [];
  let api1: HookpostProcess;
  let api2: HookpostProcess;
  const clients: Client[] = [];
  const subscriptions: Live<unknown>[] = [];
  let a: { id: string; key: string; api: GraphqlClient };
  let b: { id: string; key: string; api: GraphqlClient };

  const ws = (api: HookpostProcess, authorization: string | null) => {
    const client = wsClient(api.url!, authorization);
    clients.push(client);
    return client;
  };
  const track = <T>(live: Live<T>) => {
    subscriptions.push(live);
    return live;
  };
  /** Api processes subscribed in Redis to a channel: how a test knows a subscription is live before publishing. */
  const processesListening = async (topic: LiveTopic, key: string) => {
    const [, count] = (await redis.pubsub("NUMSUB", liveChannel(env.REDIS_PREFIX!, topic, key))) as [
      string,
      number,
    ];
    return Number(count);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    // A long delivery timeout: the replay test holds requests open until it has seen them pending.
    env = testEnv({ DATABASE_URL: db.url, ENDPOINT_FAILURE_THRESHOLD: "3", DELIVERY_TIMEOUT_MS: "20000" });
    redis = new Redis(env.REDIS_URL!);
    // Per endpoint URL and event: /flaky answers 500 twice, then 200; /down always 500; others 200.
    receiver = await startReceiver((req) => {
      if (req.url.endsWith("/down")) return { status: 500 };
      if (!req.url.includes("/flaky")) return { status: 200 };
      const earlier = receiver.requests.filter(
        (r) => r.url === req.url && r.headers["webhook-id"] === req.headers["webhook-id"],
      );
      return { status: earlier.length < 2 ? 500 : 200 };
    });
    const started = await Promise.allSettled([
      spawnHookpost("api", env),
      spawnHookpost("api", env),
      spawnHookpost("worker", env),
    ]);
    for (const s of started) if (s.status === "fulfilled") processes.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    [api1, api2] = processes as [HookpostProcess, HookpostProcess];
    const workspace = async (name: string) => {
      const { workspaceId, apiKey } = await createWorkspace(db.prisma, name);
      return { id: workspaceId, key: `Bearer ${apiKey}`, api: graphqlClient(api2.url!, `Bearer ${apiKey}`) };
    };
    a = await workspace("A");
    b = await workspace("B");
  }, PROCESSES_TIMEOUT_MS);

  afterEach(({ task }) => {
    if (task.result?.state !== "fail") return;
    for (const p of processes) console.error(`--- ${p.role} ${p.pid} output ---\n${p.logs()}`);
  });

  afterAll(async () => {
    for (const s of subscriptions) s.stop();
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(processes.map((p) => p.stop()));
    if (env) await deleteRedisKeys(env.REDIS_URL!, env.REDIS_PREFIX!);
    await receiver?.close();
    redis?.disconnect();
    await db?.drop();
  }, PROCESSES_TIMEOUT_MS);

  it("streams every attempt, in order, to graphql-ws and SSE subscribers on different api processes, and none to another workspace", async () => {
    const endpoints = await Promise.all(
      ["/flaky/1", "/flaky/2"].map(async (path) => {
        const { createEndpoint } = await a.api.ok(CreateEndpointDocument, {
          input: { url: `${receiver.url}${path}`, eventTypes: ["email.delivered"] },
        });
        return createEndpoint.endpoint;
      }),
    );
    const { createEndpoint: bEndpoint } = await b.api.ok(CreateEndpointDocument, {
      input: { url: `${receiver.url}/b`, eventTypes: ["email.delivered"] },
    });

    const overWs = track(wsSubscribe(ws(api1, a.key), LiveDeliveryAttemptsDocument, {}));
    const overSse = track(sseSubscribe(api2.url!, a.key, LiveDeliveryAttemptsDocument, {}));
    const bClient = ws(api1, b.key);
    const bWithAsEndpoint = track(
      wsSubscribe(bClient, LiveDeliveryAttemptsDocument, { endpointId: endpoints[0]!.id }),
    );
    const bAll = track(wsSubscribe(bClient, LiveDeliveryAttemptsDocument, {}));
    await until(
      async () => (await processesListening("delivery-attempt", a.id)) === 2,
      "both api processes to subscribe",
    );
    await until(async () => (await processesListening("delivery-attempt", b.id)) === 1, "B's subscriptions");

    const { publishEvent } = await a.api.ok(PublishEventDocument, {
      input: { type: "email.delivered", data: { to: "a@example.com" } },
    });
    await until(
      () => overWs.data.length >= 6 && overSse.data.length >= 6,
      "3 attempts × 2 deliveries on both",
    );

    // Every attempt the database holds, and nothing else.
    const stored = await db.prisma.deliveryAttempt.findMany({ where: { eventId: publishEvent.id } });
    expect(stored).toHaveLength(6);
    for (const live of [overWs, overSse]) {
      expect(live.errors).toEqual([]);
      const attempts = live.data.map((d) => d.deliveryAttempts);
      expect(attempts.map((x) => x.id).sort()).toEqual(stored.map((x) => x.id).sort());
      const byDelivery = numbersByDelivery(attempts);
      expect(Object.values(byDelivery)).toEqual([
        [1, 2, 3],
        [1, 2, 3],
      ]);
      for (const attempt of attempts) {
        // The row a dashboard shows, all in the one message.
        expect(attempt.event).toEqual({ id: publishEvent.id, type: "email.delivered" });
        const endpoint = endpoints.find((e) => e.id === attempt.endpoint.id);
        expect(attempt.endpoint.url).toBe(endpoint?.url);
        expect(attempt.responseStatus).toBe(attempt.number < 3 ? 500 : 200);
        expect(attempt.trigger).toBe(attempt.number === 1 ? "SCHEDULED" : "RETRY");
        expect(attempt.delivery).toMatchObject({ id: attempt.deliveryId, attemptCount: attempt.number });
        expect(attempt.delivery.status).toBe(attempt.number < 3 ? "RETRYING" : "SUCCEEDED");
        expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
      }
    }
    const { delivery } = await a.api.ok(GetDeliveryDocument, { id: stored[0]!.deliveryId });
    expect(delivery?.status).toBe("SUCCEEDED");

    // B's own attempt is published after all of A's reached api #1: had B heard any of A's, it would have by now.
    await b.api.ok(PublishEventDocument, {
      input: { type: "email.delivered", data: { to: "b@example.com" } },
    });
    await until(() => bAll.data.length >= 1, "B's own attempt");
    expect(bAll.data.map((d) => d.deliveryAttempts.endpoint.id)).toEqual([bEndpoint.endpoint.id]);
    expect(bWithAsEndpoint.data).toEqual([]);
    expect([...bAll.errors, ...bWithAsEndpoint.errors]).toEqual([]);
  });

  it("announces an endpoint disabled after consecutive failures", async () => {
    const { createEndpoint } = await a.api.ok(CreateEndpointDocument, {
      input: { url: `${receiver.url}/down`, eventTypes: ["email.bounced"] },
    });
    const endpointId = createEndpoint.endpoint.id;
    const updates = track(wsSubscribe(ws(api1, a.key), LiveEndpointUpdatesDocument, { endpointId }));
    const bUpdates = track(sseSubscribe(api2.url!, b.key, LiveEndpointUpdatesDocument, { endpointId }));
    await until(async () => (await processesListening("endpoint-updated", a.id)) === 1, "subscription");
    await until(async () => (await processesListening("endpoint-updated", b.id)) === 1, "B's subscription");

    // Three deliveries that each fail for good (retries exhausted) reach the threshold.
    for (const to of ["x@example.com", "y@example.com", "z@example.com"])
      await a.api.ok(PublishEventDocument, { input: { type: "email.bounced", data: { to } } });
    await until(() => updates.data.length >= 1, "the endpoint update");
    expect(updates.errors).toEqual([]);
    expect(updates.data.map((d) => d.endpointUpdates)).toEqual([
      expect.objectContaining({
        id: endpointId,
        enabled: false,
        disabledReason: "3 consecutive deliveries failed for good",
        consecutiveFailures: 3,
      }),
    ]);
    expect(updates.data[0]!.endpointUpdates.disabledAt).toEqual(expect.any(String));
    expect(bUpdates.data).toEqual([]);
  });

  it("has the worker process report its own attempts on /metrics, as the delivery log counts them", async () => {
    const worker = processes.find((p) => p.role === "worker")!;
    expect((await fetch(`${worker.base}/readyz`)).status).toBe(200);
    const attemptsIn = async (base: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const counts = [...text.matchAll(/^hookpost_delivery_attempts_total\{outcome="(\w+)"\} (\d+)$/gm)];
      const sum = (succeeded: boolean) =>
        counts
          .filter(([, outcome]) => (outcome === "2xx") === succeeded)
          .reduce((n, [, , v]) => n + Number(v), 0);
      return { success: sum(true), failure: sum(false) };
    };
    // Two failed attempts and a success of its own, on top of the earlier tests' (every one the worker's).
    await a.api.ok(CreateEndpointDocument, {
      input: { url: `${receiver.url}/flaky/metrics`, eventTypes: ["email.opened"] },
    });
    await a.api.ok(PublishEventDocument, { input: { type: "email.opened", data: { to: "m@example.com" } } });
    const logged = async () => {
      const rows = await db.prisma.deliveryAttempt.groupBy({ by: ["succeeded"], _count: true });
      const of = (succeeded: boolean) => rows.find((r) => r.succeeded === succeeded)?._count ?? 0;
      return { success: of(true), failure: of(false) };
    };
    let reported = await attemptsIn(worker.base);
    await until(async () => {
      reported = await attemptsIn(worker.base);
      const inLog = await logged();
      return (
        inLog.failure >= 2 &&
        inLog.success >= 1 &&
        reported.success === inLog.success &&
        reported.failure === inLog.failure
      );
    }, "the worker's counters to match the delivery log");
    // An api process sends nothing, so it counts nothing.
    expect(await attemptsIn(api1.base)).toEqual({ success: 0, failure: 0 });
  });

  it("reports a replay's progress, counts rising, until it is COMPLETED; only to its own workspace", async () => {
    const holding = await startHoldingReceiver();
    try {
      // Events accepted while no endpoint wanted them: only the replay delivers them.
      const inputs = Array.from({ length: 3 }, (_, i) => ({ type: "email.clicked", data: { n: i } }));
      await a.api.ok(PublishEventsDocument, { inputs });
      const { createEndpoint } = await a.api.ok(CreateEndpointDocument, {
        input: { url: holding.url, eventTypes: ["email.clicked"] },
      });
      const { replayEvents } = await a.api.ok(ReplayEventsDocument, {
        input: {
          since: new Date(Date.now() - 3_600_000).toISOString(),
          until: new Date(Date.now() + 3_600_000).toISOString(),
          endpointId: createEndpoint.endpoint.id,
        },
      });
      const progressOf = track(
        wsSubscribe(ws(api1, a.key), LiveReplayProgressDocument, { id: replayEvents.id }),
      );
      const fromB = track(
        sseSubscribe(api2.url!, b.key, LiveReplayProgressDocument, { id: replayEvents.id }),
      );

      const states = () => progressOf.data.map((d) => d.replayProgress);
      await until(
        () => states().some((r) => r.status === "RUNNING" && r.enqueued === 3) && holding.held.length === 3,
        "the replay to have enqueued its 3 deliveries",
      );
      holding.release();
      await until(() => progressOf.ended, "the subscription to complete");

      expect(progressOf.errors).toEqual([]);
      expect(states().at(-1)).toMatchObject({
        status: "COMPLETED",
        total: 3,
        enqueued: 3,
        delivered: 3,
        failed: 0,
      });
      expect(states().filter((r) => STAGE[r.status] === 2)).toHaveLength(1);
      for (const [before, after] of states()
        .slice(1)
        .map((r, i) => [states()[i]!, r] as const)) {
        expect(STAGE[after.status]).toBeGreaterThanOrEqual(STAGE[before.status]);
        if (after.status === before.status) expect(progress(after)).toBeGreaterThanOrEqual(progress(before));
      }
      expect(states().some((r) => r.status === "RUNNING" && r.delivered === 0)).toBe(true);

      await until(() => fromB.ended, "B's subscription to be refused");
      expect(fromB.data).toEqual([]);
      expect(fromB.errors).toEqual([expect.objectContaining({ extensions: { code: "NOT_FOUND" } })]);
    } finally {
      await holding.close();
    }
  });

  it("refuses a graphql-ws connection without a key (4401) or with a bad one (4403)", async () => {
    const closeCodeOf = async (authorization: string | null) => {
      const live = wsSubscribe(ws(api1, authorization), LiveDeliveryAttemptsDocument, {});
      await until(() => live.ended, "the connection to be refused");
      expect(live.data).toEqual([]);
      return (live.errors[0] as { code?: number }).code;
    };
    expect(await closeCodeOf(null)).toBe(4401);
    expect(await closeCodeOf("Bearer hp_not_a_real_key")).toBe(4403);
  });

  it("answers an SSE subscription without a key with UNAUTHENTICATED", async () => {
    const live = track(sseSubscribe(api2.url!, null, LiveDeliveryAttemptsDocument, {}));
    await until(() => live.ended, "the stream to end");
    expect(live.data).toEqual([]);
    expect(live.errors).toEqual([expect.objectContaining({ extensions: { code: "UNAUTHENTICATED" } })]);
  });

  it("ends graphql-ws and SSE subscriptions when an api process shuts down", async () => {
    const overWs = track(wsSubscribe(ws(api2, a.key), LiveDeliveryAttemptsDocument, {}));
    const overSse = track(sseSubscribe(api2.url!, a.key, LiveDeliveryAttemptsDocument, {}));
    await until(() => overWs.open && overSse.open, "both subscriptions to open");
    const exit = await api2.stop(20_000);
    expect(exit).toEqual({ code: 0, signal: null });
    await until(() => overWs.ended && overSse.ended, "both subscriptions to end");
    expect((overWs.errors[0] as { code?: number }).code).toBe(1001);
  });
});
