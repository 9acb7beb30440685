import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkspace } from "../../src/services/workspaces.ts";
import { CreateEndpointDocument, PublishEventDocument } from "../generated/graphql.ts";
import { createTestDatabase } from "../support/db.ts";
import { graphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost, testEnv } from "../support/hookpost.ts";
import { type CollectedSpan, startOtlpCollector } from "../support/otlpCollector.ts";
import { type HookpostProcess, spawnHookpost } from "../support/processes.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const WAIT_MS = 90_000;
/** traceparent: version-traceId-parentId-flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

/**
 * Tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set) against a local OTLP/HTTP
 * receiver: a publish and every attempt of its delivery are one trace, and
 * each request a receiver gets carries the traceparent of its POST span.
 */
describe("tracing", { timeout: 4 * WAIT_MS }, () => {
  let collector: Awaited<ReturnType<typeof startOtlpCollector>>;
  let hp: TestHookpost;
  const receivers: Receiver[] = [];
  const scheduleDelay = process.env.OTEL_BSP_SCHEDULE_DELAY;

  beforeAll(async () => {
    // The SDK reads its standard variables itself: spans are exported every 50 ms here.
    process.env.OTEL_BSP_SCHEDULE_DELAY = "50";
    collector = await startOtlpCollector();
    hp = await startTestHookpost({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: "hookpost-test" },
    });
  });

  afterAll(async () => {
    await hp?.stop();
    for (const r of receivers) await r.close();
    await collector?.close();
    if (scheduleDelay === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
    else process.env.OTEL_BSP_SCHEDULE_DELAY = scheduleDelay;
  });

  const spansOf = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);
  const named = (spans: CollectedSpan[], name: string) => spans.filter((s) => s.name === name);

  it("makes one trace from the publish to every attempt, and sends each attempt's traceparent", async () => {
    // The first attempt fails: the retry, a BullMQ job of its own, joins the same trace.
    const receiver = await startReceiver((_req, index) => ({ status: index === 0 ? 503 : 200 }));
    receivers.push(receiver);
    await hp.workspace.client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.sent"] },
    });
    await hp.workspace.client.ok(PublishEventDocument, { input: { type: "email.sent", data: { n: 1 } } });
    await waitFor(() => receiver.requests.length === 2, "the attempt and its retry", WAIT_MS);

    const sent = receiver.requests.map((r) => TRACEPARENT.exec(String(r.headers.traceparent)));
    expect(sent.every(Boolean)).toBe(true);
    const traceId = sent[0]![1]!;
    expect(sent[1]![1]).toBe(traceId);

    const spans = await waitFor(
      () => {
        const found = spansOf(traceId);
        // A job's span ends after its attempt's write, so both are waited for.
        const attemptedJobs = named(found, "hookpost.delivery.job").filter(
          (s) => s.attributes["hookpost.dispatch"] === "attempted",
        );
        return named(found, "hookpost.attempt.write").length === 2 && attemptedJobs.length === 2
          ? found
          : null;
      },
      "both attempts' spans to be exported",
      WAIT_MS,
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const [operation] = named(spans, "graphql mutation PublishEvent");
    expect(operation).toBeDefined();
    expect(operation!.parentSpanId ?? "").toBe("");
    expect(operation!.serviceName).toBe("hookpost-test");
    // The publish's own insert and enqueue (the delivery.recovered notice that the retry's success records makes its own, under that job).
    for (const name of ["hookpost.publish.insert", "hookpost.enqueue"]) {
      expect(named(spans, name).filter((s) => s.parentSpanId === operation!.spanId)).toHaveLength(1);
    }
    const posts = named(spans, "hookpost.delivery.post");
    expect(posts.map((s) => s.attributes["http.response.status_code"]).sort()).toEqual([200, 503]);
    // Each receiver got the traceparent of the span of its own POST.
    expect(new Set(sent.map((m) => m![2]))).toEqual(new Set(posts.map((s) => s.spanId)));
    // Each POST and attempt write belongs to a worker job, and every job goes back to the publish.
    const rootOf = (span: CollectedSpan): CollectedSpan => {
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      return parent ? rootOf(parent) : span;
    };
    const jobs = named(spans, "hookpost.delivery.job");
    for (const span of [...posts, ...named(spans, "hookpost.attempt.write")]) {
      expect(byId.get(span.parentSpanId!)?.name).toBe("hookpost.delivery.job");
    }
    for (const job of jobs) expect(rootOf(job).spanId).toBe(operation!.spanId);
  });

  it("joins a caller's trace, and sends no traceparent when OUTBOUND_TRACEPARENT=false", async () => {
    const quiet = await startTestHookpost({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OUTBOUND_TRACEPARENT: "false" },
    });
    try {
      const receiver = await startReceiver();
      receivers.push(receiver);
      await quiet.workspace.client.ok(CreateEndpointDocument, {
        input: { url: receiver.url, eventTypes: ["email.sent"] },
      });
      const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
      const res = await fetch(quiet.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${quiet.workspace.apiKey}`,
          traceparent: `00-${callerTrace}-00f067aa0ba902b7-01`,
        },
        body: JSON.stringify({
          query: 'mutation Caller { publishEvent(input: { type: "email.sent", data: { n: 2 } }) { id } }',
        }),
      });
      expect(res.status).toBe(200);
      await waitFor(() => receiver.requests.length === 1, "the attempt", WAIT_MS);
      expect(receiver.requests[0]!.headers.traceparent).toBeUndefined();
      const spans = await waitFor(
        () => {
          const found = spansOf(callerTrace);
          return named(found, "hookpost.delivery.post").length === 1 ? found : null;
        },
        "the caller's trace to reach the attempt",
        WAIT_MS,
      );
      expect(named(spans, "graphql mutation Caller")[0]!.parentSpanId).toBe("00f067aa0ba902b7");
    } finally {
      await quiet.stop();
    }
  });

  it("carries the trace from an api process to a worker process, through Redis", async () => {
    const db = await createTestDatabase();
    const env = testEnv({
      DATABASE_URL: db.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
    });
    const processes: HookpostProcess[] = [];
    try {
      processes.push(await spawnHookpost("api", { ...env, OTEL_SERVICE_NAME: "hookpost-api" }));
      processes.push(await spawnHookpost("worker", { ...env, OTEL_SERVICE_NAME: "hookpost-worker" }));
      const { apiKey } = await createWorkspace(db.prisma, "traced");
      const client = graphqlClient(processes[0]!.url!, `Bearer ${apiKey}`);
      const receiver = await startReceiver();
      receivers.push(receiver);
      await client.ok(CreateEndpointDocument, { input: { url: receiver.url, eventTypes: ["email.sent"] } });
      await client.ok(PublishEventDocument, { input: { type: "email.sent", data: { n: 3 } } });
      await waitFor(() => receiver.requests.length === 1, "the attempt", WAIT_MS);
      const [, traceId, postSpanId] = TRACEPARENT.exec(String(receiver.requests[0]!.headers.traceparent))!;
      const spans = await waitFor(
        () => {
          const found = spansOf(traceId!);
          return named(found, "graphql mutation PublishEvent").length === 1 &&
            named(found, "hookpost.delivery.job").length === 1
            ? found
            : null;
        },
        "the api's and the worker's spans",
        WAIT_MS,
      );
      const [enqueue] = named(spans, "hookpost.enqueue");
      const [job] = named(spans, "hookpost.delivery.job");
      expect(enqueue!.serviceName).toBe("hookpost-api");
      expect(job!.serviceName).toBe("hookpost-worker");
      expect(job!.parentSpanId).toBe(enqueue!.spanId);
      expect(named(spans, "hookpost.delivery.post")[0]!.spanId).toBe(postSpanId);
    } catch (err) {
      for (const p of processes) console.error(`--- ${p.role} ${p.pid} output ---\n${p.logs()}`);
      throw err;
    } finally {
      for (const p of processes) await p.stop();
      await db.drop();
    }
  });
});
