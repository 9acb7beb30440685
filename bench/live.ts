import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import { Redis } from "ioredis";
import { WebSocket } from "ws";
import type { Prisma } from "../src/db/generated/client.ts";
import { newId } from "../src/ids.ts";
import { createLivePubSub } from "../src/pubsub/pubsub.ts";
import type { DeliveryAttemptView } from "../src/pubsub/views.ts";
import { createWorkspace } from "../src/services/workspaces.ts";
import { LiveDeliveryAttemptsDocument } from "../test/generated/graphql.ts";
import { createTestDatabase } from "../test/support/db.ts";
import { testEnv } from "../test/support/hookpost.ts";
import { spawnHookpost } from "../test/support/processes.ts";
import { deleteRedisKeys } from "../test/support/redis.ts";
import { sleep } from "./clock.ts";
import { cpuPer, measureCpu } from "./cpu.ts";
import { sampleRss } from "./rss.ts";
import { benchEvent, quantile, round } from "./workload.ts";

/**
 * The live feed under load: SUBSCRIBERS graphql-ws connections (one
 * subscription each, a dashboard's deliveryAttempts query) spread over
 * WORKSPACES workspaces on one api process, while this process publishes
 * RATE synthetic attempts/s, spread over the workspaces, straight to the
 * Redis channels with the pubsub module, as workers do. Measures publish →
 * message received by each subscriber, and the api's RSS.
 *
 * `tsx bench/live.ts [--quick]`; also a scenario of `npm run bench`.
 */
const SUBSCRIBERS = 1_000;
const WORKSPACES = 100;
const RATE_PER_S = 200;
const CONNECT_CONCURRENCY = 50;
/** After the last publish, how long messages may still arrive before those missing count as notReceived. */
const DRAIN_MS = 10_000;
/** Subscriptions must all be live by then; otherwise the run fails instead of waiting forever. */
const WARM_UP_LIMIT_MS = 60_000;

type Subscriber = { workspace: number; client: Client; received: number };

export async function runLiveScenario(opts: {
  quick: boolean;
  progress: (msg: string) => void;
}): Promise<Record<string, number | string>> {
  const seconds = opts.quick ? 10 : 30;
  const db = await createTestDatabase();
  const env = testEnv({ NODE_ENV: "production", DATABASE_URL: db.url });
  const publisher = new Redis(env.REDIS_URL!);
  // The pub/sub also listens (for announced subscribers), on a connection of its own.
  const listener = new Redis(env.REDIS_URL!);
  const pubsub = createLivePubSub(
    { redis: { url: env.REDIS_URL!, prefix: env.REDIS_PREFIX! } },
    publisher,
    listener,
  );
  const subscribers: Subscriber[] = [];
  const api = await spawnHookpost("api", env).catch(async (err) => {
    await db.drop();
    publisher.disconnect();
    listener.disconnect();
    throw err;
  });
  try {
    const rss = sampleRss(api.pid, 250);
    const workspaces = await Promise.all(
      Array.from({ length: WORKSPACES }, (_, i) => createWorkspace(db.prisma, `live bench ${i}`)),
    );

    /** Send time of every measured attempt, by attempt id; one sample per subscriber that receives it. */
    const sentAt = new Map<string, number>();
    const latenciesMs: number[] = [];
    /** Subscriptions that ended in an error, e.g. dropped as too slow (RATE_LIMITED). */
    let failedSubscribers = 0;
    opts.progress(`live: connecting ${SUBSCRIBERS} graphql-ws subscribers over ${WORKSPACES} workspaces`);
    for (let i = 0; i < SUBSCRIBERS; i += CONNECT_CONCURRENCY) {
      const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, SUBSCRIBERS - i) }, (_, j) => {
        const workspace = (i + j) % WORKSPACES;
        const subscriber: Subscriber = {
          workspace,
          client: createClient({
            url: api.url!.replace(/^http/, "ws"),
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${workspaces[workspace]!.apiKey}` },
            lazy: false,
            retryAttempts: 0,
          }),
          received: 0,
        };
        subscribers.push(subscriber);
        subscriber.client.subscribe(
          { query: print(LiveDeliveryAttemptsDocument) },
          {
            next: (result) => {
              const receivedAt = performance.now();
              subscriber.received++;
              const id = (result.data as { deliveryAttempts?: { id: string } } | undefined)?.deliveryAttempts
                ?.id;
              const sent = id === undefined ? undefined : sentAt.get(id);
              if (sent !== undefined) latenciesMs.push(receivedAt - sent);
            },
            error: () => {
              failedSubscribers++;
            },
            complete: () => {},
          },
        );
        return new Promise<void>((resolve) => subscriber.client.on("connected", () => resolve()));
      });
      await Promise.all(batch);
    }

    // Subscriptions are live once each has received something: one message per workspace
    // until they all have, a second apart so that warming up leaves no backlog.
    opts.progress("live: warming up");
    const rssIdleMb = rss.summary().startMb;
    const warmUpDeadline = Date.now() + WARM_UP_LIMIT_MS;
    while (subscribers.some((s) => s.received === 0)) {
      if (Date.now() > warmUpDeadline) {
        const silent = subscribers.filter((s) => s.received === 0).length;
        throw new Error(`live: ${silent} subscribers received nothing in ${WARM_UP_LIMIT_MS / 1_000} s`);
      }
      workspaces.forEach((w, i) => {
        pubsub.publish("delivery-attempt", w.workspaceId, syntheticAttempt(w.workspaceId, i));
      });
      await sleep(1_000);
    }
    const connectedSample = rss.samples.length;

    opts.progress(`live: ${RATE_PER_S} attempts/s for ${seconds} s`);
    const total = RATE_PER_S * seconds;
    const cpuUsed = await measureCpu({
      pids: { api: api.pid, bench: process.pid },
      postgres: db.prisma,
      redis: publisher,
    });
    const start = performance.now();
    for (let sent = 0; sent < total; ) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1_000) * RATE_PER_S));
      for (; sent < due; sent++) {
        const workspace = workspaces[sent % WORKSPACES]!;
        const attempt = syntheticAttempt(workspace.workspaceId, sent);
        sentAt.set(attempt.id, performance.now());
        pubsub.publish("delivery-attempt", workspace.workspaceId, attempt);
      }
      await sleep(5);
    }
    const publishSeconds = (performance.now() - start) / 1_000;
    const expected = total * (SUBSCRIBERS / WORKSPACES);
    const drainDeadline = Date.now() + DRAIN_MS;
    while (latenciesMs.length < expected && Date.now() < drainDeadline) await sleep(50);
    const cpu = await cpuUsed();
    rss.stop();
    const load = rss.summary(connectedSample);

    return {
      subscribers: SUBSCRIBERS,
      workspaces: WORKSPACES,
      attemptsPerS: round(total / publishSeconds),
      messagesPerS: round(latenciesMs.length / publishSeconds),
      notReceived: expected - latenciesMs.length,
      failedSubscribers,
      p50Ms: round(quantile(latenciesMs, 0.5), 1),
      p99Ms: round(quantile(latenciesMs, 0.99), 1),
      maxMs: round(Math.max(...latenciesMs), 1),
      apiRssIdleMb: round(rssIdleMb),
      apiRssConnectedMb: round(load.startMb),
      apiRssPeakMb: round(load.peakMb),
      apiCpuPercent: round((cpu.cpuMs.api ?? 0) / 10 / publishSeconds, 1),
      // Per message received: a machine's neighbours move latency, much less CPU per message.
      ...cpuPer(cpu, latenciesMs.length),
    };
  } finally {
    await Promise.all(subscribers.map((s) => s.client.dispose()));
    await api.stop();
    publisher.disconnect();
    listener.disconnect();
    await deleteRedisKeys(env.REDIS_URL!, env.REDIS_PREFIX!);
    await db.drop();
  }
}

/** An attempt as the dispatch pipeline publishes it: the row, its event, endpoint and delivery. */
export function syntheticAttempt(workspaceId: string, seq: number): DeliveryAttemptView {
  const now = new Date();
  const input = benchEvent();
  const event = {
    id: newId("event"),
    workspaceId,
    type: input.type,
    stream: null,
    payload: input.data as Prisma.JsonObject,
    occurredAt: now,
    idempotencyKey: null,
    isTest: false,
    createdAt: now,
  };
  const endpoint = {
    id: `ep_bench_${workspaceId}`,
    workspaceId,
    url: "https://hooks.example.com/hookpost",
    format: "STANDARD_WEBHOOKS" as const,
    description: "",
    eventTypes: ["*"],
    streams: [],
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    headers: {},
    sensitiveHeaders: [],
    previousSecretExpiresAt: null,
    consecutiveFailures: 0,
    failedAttemptsInRow: 0,
    failingSince: null,
    circuitOpenUntil: null,
    retryScheduleMs: [],
    retryForSeconds: null,
    rateLimitPerSecond: null,
    createdAt: now,
    updatedAt: now,
  };
  const number = (seq % 3) + 1;
  const delivery = {
    id: newId("delivery"),
    workspaceId,
    eventId: event.id,
    endpointId: endpoint.id,
    eventType: event.type,
    status: "SUCCEEDED" as const,
    trigger: "SCHEDULED" as const,
    attempts: number,
    retryStep: 0,
    nextAttemptAt: null,
    firstAttemptAt: now,
    lastAttemptAt: now,
    lastResponseStatus: 200,
    lastError: null,
    succeededAt: now,
    replayId: null,
    createdAt: now,
    updatedAt: now,
  };
  return {
    id: newId("attempt"),
    workspaceId,
    deliveryId: delivery.id,
    eventId: event.id,
    endpointId: endpoint.id,
    number,
    trigger: number === 1 ? "SCHEDULED" : "RETRY",
    url: endpoint.url,
    requestHeaders: { "content-type": "application/json", "webhook-id": event.id },
    responseStatus: 200,
    responseHeaders: { "content-type": "text/plain" },
    responseBody: "ok",
    error: null,
    durationMs: 42,
    succeeded: true,
    startedAt: now,
    createdAt: now,
    event,
    endpoint,
    delivery,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
  runLiveScenario({ quick: values.quick ?? false, progress: (msg) => process.stderr.write(`${msg}\n`) }).then(
    (figures) => {
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
