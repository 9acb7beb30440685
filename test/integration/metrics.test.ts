import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  GetReplayDocument,
  PublishEventDocument,
  ReplayEventsDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { sampleOf, scrape } from "../support/metrics.ts";
import { type Behaviour, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const WAIT_MS = 90_000;
/** Each failing delivery makes two attempts: the first, and one retry (the schedule's only step). */
const ATTEMPTS_PER_FAILED_DELIVERY = 2;
const SUCCESSFUL_EVENTS = 3;

/**
 * A mixed run against real receivers, then /metrics read as Prometheus would:
 * every series with the counts the run makes.
 */
describe("/metrics after a mixed run", { timeout: 4 * WAIT_MS }, () => {
  let hp: TestHookpost;
  const receivers: Receiver[] = [];
  /** Endpoint id by what its receiver does; each takes one event type of its own. */
  const endpoints: Record<string, string> = {};

  const kinds: { kind: string; type: string; behaviour?: Behaviour | "closed-port" | "forbidden" }[] = [
    { kind: "ok", type: "email.sent", behaviour: { status: 200 } },
    { kind: "redirect", type: "email.delivered", behaviour: { status: 302, headers: { location: "/x" } } },
    { kind: "client-error", type: "email.bounced", behaviour: { status: 400 } },
    { kind: "server-error", type: "email.opened", behaviour: { status: 503 } },
    { kind: "timeout", type: "email.clicked", behaviour: "hang" },
    { kind: "network", type: "email.complained", behaviour: "closed-port" },
    { kind: "refused", type: "email.rejected", behaviour: "forbidden" },
    { kind: "disabled", type: "email.failed", behaviour: { status: 200 } },
  ];
  const failingKinds = ["redirect", "client-error", "server-error", "timeout", "network", "refused"];

  const publish = (type: string, n: number) =>
    hp.workspace.client.ok(PublishEventDocument, { input: { type, data: { n } } });

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        RETRY_SCHEDULE: "100ms",
        DELIVERY_TIMEOUT_MS: "1000",
        // Two failed attempts open a failing endpoint's circuit, which then stays open for the test.
        CIRCUIT_FAILURE_THRESHOLD: "2",
        CIRCUIT_COOLDOWN_MS: "600000",
        // Nothing due is swept during the test: the one held by an open circuit stays due.
        SWEEP_GRACE_MS: "600000",
      },
    });
    for (const { kind, type, behaviour } of kinds) {
      const receiver = await startReceiver(() => (typeof behaviour === "object" ? behaviour : "hang"));
      receivers.push(receiver);
      const url = behaviour === "closed-port" ? "http://127.0.0.1:1/hooks" : receiver.url;
      const { createEndpoint } = await hp.workspace.client.ok(CreateEndpointDocument, {
        input: { url, eventTypes: [type] },
      });
      endpoints[kind] = createEndpoint.endpoint.id;
      // Valid when created; the address the guard refuses is set behind the API's back.
      if (behaviour === "forbidden") {
        await hp.db.prisma.endpoint.update({
          where: { id: createEndpoint.endpoint.id },
          data: { url: "http://10.255.255.1/hooks" },
        });
      }
    }
    await hp.workspace.client.ok(UpdateEndpointDocument, {
      id: endpoints.disabled!,
      input: { enabled: false },
    });
  });

  afterAll(async () => {
    await hp?.stop();
    for (const r of receivers) await r.close();
  });

  it("counts attempts by outcome, their durations and first-attempt latencies, and the deployment gauges", async () => {
    for (let n = 0; n < SUCCESSFUL_EVENTS; n++) await publish("email.sent", n);
    for (const { kind, type } of kinds) if (kind !== "ok") await publish(type, 0);
    const settled = async () => {
      const rows = await hp.db.prisma.delivery.groupBy({ by: ["status"], _count: true });
      const count = (status: string) => rows.find((r) => r.status === status)?._count ?? 0;
      return count("SUCCEEDED") === SUCCESSFUL_EVENTS && count("FAILED") === failingKinds.length;
    };
    await waitFor(settled, "every delivery to succeed or fail for good", WAIT_MS);

    // An open circuit keeps a new delivery due in the database: pending, and ageing.
    await publish("email.opened", 1);
    const text = await waitFor(
      async () => {
        const t = await scrape(hp);
        return sampleOf(t, "hookpost_deliveries_pending", 'status="PENDING"') === 1 &&
          sampleOf(t, "hookpost_delivery_oldest_due_age_seconds") > 0
          ? t
          : null;
      },
      "the held delivery to show as pending and due",
      WAIT_MS,
    );

    const attempts = (outcome: string) =>
      sampleOf(text, "hookpost_delivery_attempts_total", `outcome="${outcome}"`);
    expect(attempts("2xx")).toBe(SUCCESSFUL_EVENTS);
    for (const outcome of ["3xx", "4xx", "5xx", "timeout", "network", "refused"])
      expect(attempts(outcome), outcome).toBe(ATTEMPTS_PER_FAILED_DELIVERY);
    const totalAttempts = SUCCESSFUL_EVENTS + failingKinds.length * ATTEMPTS_PER_FAILED_DELIVERY;
    expect(await hp.db.prisma.deliveryAttempt.count()).toBe(totalAttempts);

    const durationCount = (outcome: string) =>
      sampleOf(text, "hookpost_delivery_attempt_duration_seconds_count", `outcome="${outcome}"`);
    expect(durationCount("2xx")).toBe(SUCCESSFUL_EVENTS);
    expect(durationCount("timeout")).toBe(ATTEMPTS_PER_FAILED_DELIVERY);
    // A timed-out attempt took at least its timeout; loose bounds, the machine is loaded.
    expect(
      sampleOf(text, "hookpost_delivery_attempt_duration_seconds_sum", 'outcome="timeout"'),
    ).toBeGreaterThanOrEqual(1.9);
    expect(
      sampleOf(text, "hookpost_delivery_attempt_duration_seconds_bucket", 'le="+Inf",outcome="5xx"'),
    ).toBe(ATTEMPTS_PER_FAILED_DELIVERY);

    // One first attempt per delivery that was attempted.
    const firstAttempts = SUCCESSFUL_EVENTS + failingKinds.length;
    expect(sampleOf(text, "hookpost_delivery_first_attempt_latency_seconds_count")).toBe(firstAttempts);
    expect(sampleOf(text, "hookpost_delivery_first_attempt_latency_seconds_bucket", 'le="+Inf"')).toBe(
      firstAttempts,
    );
    expect(sampleOf(text, "hookpost_delivery_first_attempt_latency_seconds_sum")).toBeGreaterThan(0);

    expect(sampleOf(text, "hookpost_deliveries_pending", 'status="RETRYING"')).toBe(0);
    expect(sampleOf(text, "hookpost_endpoints_disabled")).toBe(1);
    expect(sampleOf(text, "hookpost_endpoints_circuit_open")).toBe(failingKinds.length);
    for (const state of ["waiting", "active", "delayed", "prioritized"]) {
      for (const queue of ["delivery", "replay", "maintenance"])
        expect(
          sampleOf(text, "hookpost_queue_jobs", `queue="${queue}",state="${state}"`),
        ).toBeGreaterThanOrEqual(0);
    }
    expect(sampleOf(text, "hookpost_delivery_batches_waiting")).toBe(0);
    expect(sampleOf(text, "hookpost_sends_paused")).toBe(0);
    expect(sampleOf(text, "hookpost_origin_line_joins_total")).toBeGreaterThanOrEqual(0);

    // GraphQL operations through yoga's Prometheus plugin: the publishes above, by name.
    const publishes = SUCCESSFUL_EVENTS + kinds.length - 1 + 1;
    expect(
      sampleOf(
        text,
        "hookpost_graphql_operations_total",
        'operationType="mutation",operationName="PublishEvent"',
      ),
    ).toBe(publishes);
    expect(
      sampleOf(
        text,
        "hookpost_graphql_operation_duration_seconds_count",
        'operationType="mutation",operationName="PublishEvent"',
      ),
    ).toBe(publishes);
    expect(text).toMatch(/^# TYPE hookpost_graphql_errors_total counter$/m);

    // Node runtime defaults.
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+$/m);
  });

  it("counts inbound requests by status, and replays started, finished and their deliveries", async () => {
    const base = hp.url.replace(/\/graphql$/, "");
    expect((await fetch(`${base}/inbound/src_unknown`, { method: "POST", body: "{}" })).status).toBe(404);

    const { replayEvents } = await hp.workspace.client.ok(ReplayEventsDocument, {
      input: {
        since: new Date(Date.now() - 3_600_000).toISOString(),
        until: new Date(Date.now() + 60_000).toISOString(),
        endpointId: endpoints.ok!,
      },
    });
    await waitFor(
      async () =>
        (await hp.workspace.client.ok(GetReplayDocument, { id: replayEvents.id })).replay?.status ===
        "COMPLETED",
      "the replay to complete",
      WAIT_MS,
    );
    const text = await scrape(hp);
    expect(sampleOf(text, "hookpost_inbound_requests_total", 'code="404"')).toBe(1);
    expect(sampleOf(text, "hookpost_replays_started_total")).toBe(1);
    expect(sampleOf(text, "hookpost_replays_finished_total", 'status="COMPLETED"')).toBe(1);
    expect(sampleOf(text, "hookpost_replay_deliveries_enqueued_total")).toBe(SUCCESSFUL_EVENTS);
    // The replayed deliveries had been attempted before: their attempts count, their first-attempt latency does not again.
    expect(sampleOf(text, "hookpost_delivery_attempts_total", 'outcome="2xx"')).toBe(2 * SUCCESSFUL_EVENTS);
    expect(sampleOf(text, "hookpost_delivery_first_attempt_latency_seconds_count")).toBe(
      SUCCESSFUL_EVENTS + failingKinds.length,
    );
  });
});
