import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { SendResult } from "./delivery/httpSender.ts";

/**
 * Process metrics for /metrics (docs/observability.md lists every series).
 * Counters and histograms are this process's own; Prometheus sums them across
 * processes. The gauges read from PostgreSQL and Redis describe the whole
 * deployment (every process reports the same value): aggregate them with
 * max(), not sum().
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** What an attempt came to, as the attempts counter labels it. */
const ATTEMPT_OUTCOMES = ["2xx", "3xx", "4xx", "5xx", "timeout", "network", "refused"] as const;
type AttemptOutcomeLabel = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * An attempt's outcome: the status class of an answer, or why there was none
 * (refused: the SSRF guard would not connect to the address).
 */
export function attemptOutcomeLabel(
  result: Pick<SendResult, "status" | "outcome" | "refused">,
): AttemptOutcomeLabel {
  if (result.refused) return "refused";
  if (result.outcome.kind === "timeout") return "timeout";
  if (result.outcome.kind === "network") return "network";
  const status = result.outcome.status;
  if (status >= 200 && status < 300) return "2xx";
  if (status >= 300 && status < 400) return "3xx";
  if (status >= 400 && status < 500) return "4xx";
  return "5xx";
}

const attempts = new Counter({
  name: "hookpost_delivery_attempts_total",
  help: "Delivery attempts made by this process, by outcome (2xx, 3xx, 4xx, 5xx, timeout, network, refused).",
  labelNames: ["outcome"],
  registers: [registry],
});
for (const outcome of ATTEMPT_OUTCOMES) attempts.inc({ outcome }, 0);

const attemptDuration = new Histogram({
  name: "hookpost_delivery_attempt_duration_seconds",
  help: "Time from an attempt's request start to its response end (or its failure), by outcome.",
  labelNames: ["outcome"],
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const firstAttemptLatency = new Histogram({
  name: "hookpost_delivery_first_attempt_latency_seconds",
  help: "Time from an event's publish to the end of the first attempt of each of its deliveries.",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

const lineJoins = new Counter({
  name: "hookpost_origin_line_joins_total",
  help: "Deliveries that waited in this process for a saturated receiving origin.",
  registers: [registry],
});
const lineDrops = new Counter({
  name: "hookpost_origin_line_drops_total",
  help: "Deliveries taken out of this process's lines unstarted, their endpoint's circuit open.",
  registers: [registry],
});
const slotsSetAside = new Counter({
  name: "hookpost_slots_set_aside_total",
  help: "Attempts in this process that set their slot aside, their receiver silent for 500 ms.",
  registers: [registry],
});
const sendsPaused = new Gauge({
  name: "hookpost_sends_paused",
  help: "1 while this process starts no send because attempts cannot be recorded.",
  registers: [registry],
});

const inboundRequests = new Counter({
  name: "hookpost_inbound_requests_total",
  help: "Provider webhooks received on /inbound/<sourceId>, by the HTTP status answered.",
  labelNames: ["code"],
  registers: [registry],
});
const replaysStarted = new Counter({
  name: "hookpost_replays_started_total",
  help: "Replays this process started running.",
  registers: [registry],
});
const replaysFinished = new Counter({
  name: "hookpost_replays_finished_total",
  help: "Replays that ended in this process, by final status (COMPLETED, CANCELLED, FAILED).",
  labelNames: ["status"],
  registers: [registry],
});
const replayDeliveries = new Counter({
  name: "hookpost_replay_deliveries_enqueued_total",
  help: "Deliveries that replays running in this process claimed and enqueued.",
  registers: [registry],
});

/** Scrape-time gauges of the whole deployment (see refreshSharedGauges). */
const deliveriesPending = new Gauge({
  name: "hookpost_deliveries_pending",
  help: "Deliveries not yet settled, by status (PENDING, RETRYING), in the database.",
  labelNames: ["status"],
  registers: [registry],
});
const oldestDueAge = new Gauge({
  name: "hookpost_delivery_oldest_due_age_seconds",
  help: "How long the longest-waiting due delivery (PENDING or RETRYING, its next attempt time passed) has been due; 0 when none is.",
  registers: [registry],
});
const endpointsDisabled = new Gauge({
  name: "hookpost_endpoints_disabled",
  help: "Endpoints disabled (by hand, or for failing), in the database.",
  registers: [registry],
});
const endpointsCircuitOpen = new Gauge({
  name: "hookpost_endpoints_circuit_open",
  help: "Endpoints whose circuit is open now: their scheduled attempts wait for a probe.",
  registers: [registry],
});
const queueJobs = new Gauge({
  name: "hookpost_queue_jobs",
  help: "BullMQ jobs in Redis, by queue (delivery, replay, maintenance) and state.",
  labelNames: ["queue", "state"],
  registers: [registry],
});
const batchesWaiting = new Gauge({
  name: "hookpost_delivery_batches_waiting",
  help: "Batches of new deliveries (up to 100 each) waiting in Redis for a worker.",
  registers: [registry],
});
const scrapeErrors = new Counter({
  name: "hookpost_metrics_scrape_errors_total",
  help: "Scrapes whose database or Redis gauges could not be read (they keep their last values).",
  labelNames: ["source"],
  registers: [registry],
});

/** Records one attempt's outcome and duration; with `publishedAt`, it was its delivery's first. */
export function observeAttempt(result: SendResult, publishedAt: Date | null): void {
  const outcome = attemptOutcomeLabel(result);
  attempts.inc({ outcome });
  attemptDuration.observe({ outcome }, result.durationMs / 1_000);
  if (publishedAt) firstAttemptLatency.observe(Math.max(0, Date.now() - publishedAt.getTime()) / 1_000);
}

/** Counts a delivery that went to wait in line for its saturated origin (src/backpressure/originLines.ts). */
export function observeLineJoin(): void {
  lineJoins.inc();
}

/** Counts deliveries taken out of their line unstarted, their endpoint's circuit open. */
export function observeLineDrops(count: number): void {
  lineDrops.inc(count);
}

/** Counts an attempt that set its slot aside, its receiver slow (src/backpressure/deliverySlots.ts). */
export function observeSlotSetAside(): void {
  slotsSetAside.inc();
}

let recordingPaused = false;

/** Sets whether this process has stopped starting sends because attempts cannot be recorded. */
export function observeRecordingPaused(paused: boolean): void {
  recordingPaused = paused;
  sendsPaused.set(paused ? 1 : 0);
}

export function isRecordingPaused(): boolean {
  return recordingPaused;
}

export function observeInbound(status: number): void {
  inboundRequests.inc({ code: String(status) });
}

export function observeReplayStarted(): void {
  replaysStarted.inc();
}

export function observeReplayFinished(status: string): void {
  replaysFinished.inc({ status });
}

export function observeReplayEnqueued(count: number): void {
  replayDeliveries.inc(count);
}

/** What the scrape-time gauges are read from: one query on each of PostgreSQL and Redis. */
export type SharedGaugeSources = {
  database(): Promise<{
    pending: number;
    retrying: number;
    oldestDueAgeS: number;
    disabled: number;
    circuitOpen: number;
  }>;
  queues(): Promise<{ queues: Record<string, Record<string, number>>; batches: number }>;
};

/** Scrapes closer together than this share one read: a busy Prometheus setup never loads the database. */
const SHARED_GAUGES_TTL_MS = 5_000;

/** Per source set (one per process; a test file may start several), the last refresh and when it began. */
const refreshes = new WeakMap<SharedGaugeSources, { at: number; done: Promise<void> }>();

/** Reads the deployment gauges, at most once per SHARED_GAUGES_TTL_MS for a source set. */
function refreshSharedGauges(sources: SharedGaugeSources): Promise<void> {
  const last = refreshes.get(sources);
  if (last && Date.now() - last.at < SHARED_GAUGES_TTL_MS) return last.done;
  const done = Promise.all([
    withinTimeout(sources.database()).then(
      (db) => {
        deliveriesPending.set({ status: "PENDING" }, db.pending);
        deliveriesPending.set({ status: "RETRYING" }, db.retrying);
        oldestDueAge.set(db.oldestDueAgeS);
        endpointsDisabled.set(db.disabled);
        endpointsCircuitOpen.set(db.circuitOpen);
      },
      () => scrapeErrors.inc({ source: "database" }),
    ),
    withinTimeout(sources.queues()).then(
      ({ queues, batches }) => {
        for (const [queue, states] of Object.entries(queues))
          for (const [state, count] of Object.entries(states)) queueJobs.set({ queue, state }, count);
        batchesWaiting.set(batches);
      },
      () => scrapeErrors.inc({ source: "redis" }),
    ),
  ]).then(() => undefined);
  refreshes.set(sources, { at: Date.now(), done });
  return done;
}

/** How long a scrape waits for PostgreSQL or Redis; past it, the gauges keep their last values. */
const SHARED_GAUGES_TIMEOUT_MS = 2_000;

function withinTimeout<T>(read: Promise<T>): Promise<T> {
  return Promise.race([
    read,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("timeout")), SHARED_GAUGES_TIMEOUT_MS).unref(),
    ),
  ]);
}

/** The Prometheus text of this process's registry, deployment gauges refreshed first. */
export async function renderMetrics(sources: SharedGaugeSources): Promise<string> {
  await refreshSharedGauges(sources);
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;
