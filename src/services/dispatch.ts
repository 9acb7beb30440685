import { createRecordingGate, type RecordingGate } from "../backpressure/recordingGate.ts";
import type { Batcher } from "../db/batcher.ts";
import { type Db, queryRows } from "../db/client.ts";
import { type Delivery, type DeliveryAttempt, Prisma } from "../db/generated/client.ts";
import { retryPolicyFor } from "../delivery/endpointPolicy.ts";
import type { SendResult } from "../delivery/httpSender.ts";
import { decideNextState, type Trigger } from "../delivery/nextState.ts";
import { type Dispatch, prepareDispatch, type SignedRequest } from "../delivery/prepareDispatch.ts";
import { redactHeaders } from "../delivery/redaction.ts";
import type { Deps } from "../deps.ts";
import { newId } from "../ids.ts";
import { attemptOutcomeLabel, observeAttempt, observeRecordingPaused } from "../metrics.ts";
import { currentTraceparent, traced } from "../tracing/tracing.ts";
import { USER_AGENT } from "../version.ts";
import {
  type AttemptWrite,
  createAttemptWriter,
  type HealthPolicy,
  type RecordedAttempt,
} from "./attemptWriter.ts";
import { actOnHealthChange } from "./circuit.ts";
import { createDeliveryLoader, type LoadedDelivery } from "./deliveryLoader.ts";
import { signingSecrets } from "./endpoints.ts";
import { OPERATIONAL_EVENT_TYPES } from "./eventTypes.ts";
import { recordOperationalEvent } from "./operational.ts";

/**
 * The delivery pipeline, one attempt at a time: load → prepareDispatch (pure:
 * skip, defer or send the signed request; src/delivery/prepareDispatch.ts) →
 * send (POST) → recordOutcome (attempt row, delivery state, endpoint health,
 * next retry, in one write; src/services/attemptWriter.ts) → announce (live
 * feed, operational events).
 */

export type DispatchResult =
  /** `circuitOpenFor`: the endpoint whose open circuit the delivery waits for, in the database. */
  | { kind: "skipped"; reason: string; circuitOpenFor?: string }
  /**
   * Not attempted now; try again after `delayMs`. With `saturated`: the
   * endpoint's origin (of `url`) is slow and all its connections are busy, or
   * it has not answered yet; `dueAt` is the delivery's nextAttemptAt as loaded.
   */
  | {
      kind: "deferred";
      delayMs: number;
      saturated?: { url: string; dueAt: Date | null; endpointId: string };
    }
  | {
      kind: "attempted";
      attempt: DeliveryAttempt;
      delivery: Delivery;
      retryDelayMs: number | null;
      result: SendResult;
    };

/**
 * The worker runs many attempts at once; their reads and writes are batched
 * (see src/db/batcher.ts): one query loads every delivery asked for in the
 * same tick, one statement records a few milliseconds' worth of attempts.
 */
type Batches = {
  load: Batcher<string, LoadedDelivery | null>;
  record: Batcher<AttemptWrite, RecordedAttempt>;
  recording: RecordingGate;
};

/** One set per database client: a process has one, a test file may start several Hookposts. */
const batchesByClient = new WeakMap<Db, Batches>();

function batchesOf({ prisma, config, logger }: Pick<Deps, "prisma" | "config" | "logger">): Batches {
  let batches = batchesByClient.get(prisma);
  if (!batches) {
    batches = {
      load: createDeliveryLoader(prisma),
      record: createAttemptWriter(prisma, healthPolicy(config)),
      recording: createRecordingGate({
        // A transaction id is only given where writes are possible.
        probe: () => queryRows(prisma, Prisma.sql`SELECT txid_current()`),
        probeEveryMs: RECORDING_PROBE_EVERY_MS,
        onChange(open, err) {
          observeRecordingPaused(!open);
          if (open) logger.info("attempts can be recorded again: sends resume");
          else logger.error({ err }, "attempts cannot be recorded: no new sends until they can");
        },
      }),
    };
    batchesByClient.set(prisma, batches);
  }
  return batches;
}

/** A delivery ready to send: loaded, decided, its request signed. */
export type ReadyAttempt = {
  delivery: LoadedDelivery;
  dispatch: Extract<Dispatch, { kind: "send" }>;
  startedAt: Date;
  scheduled: boolean;
};

/**
 * Loads a delivery and prepares its attempt (prepareDispatch): the result
 * when there is nothing to send now, or the attempt ready to send. Scheduled
 * work (`trigger` null) only sends PENDING/RETRYING deliveries of enabled
 * endpoints; MANUAL and TEST attempts send whatever the state.
 */
export async function prepareAttempt(
  deps: Deps,
  deliveryId: string,
  trigger: "MANUAL" | "TEST" | null,
): Promise<{ done: DispatchResult } | { ready: ReadyAttempt }> {
  const delivery = await batchesOf(deps).load.run(deliveryId);
  if (!delivery) return { done: { kind: "skipped", reason: "delivery no longer exists" } };
  const now = new Date();
  const dispatch = prepareDispatch({
    delivery,
    trigger,
    now,
    secrets: signingSecrets(delivery.endpoint, now),
    userAgent: USER_AGENT,
  });
  if (dispatch.kind === "skip") {
    if (!dispatch.settle) return { done: { kind: "skipped", reason: dispatch.reason } };
    const settle = { ...dispatch.settle, nextAttemptAt: null };
    if (!(await settleAsLoaded(deps, delivery, settle))) return { done: RELOAD };
    await announce(deps, delivery, { ...delivery, ...settle }, null);
    return { done: { kind: "skipped", reason: dispatch.reason } };
  }
  // Its deliveries wait, due, in the database until a probe gets through (src/services/circuit.ts).
  if (dispatch.kind === "defer") {
    const reason = "the endpoint's circuit is open";
    return { done: { kind: "skipped", reason, circuitOpenFor: delivery.endpointId } };
  }
  return { ready: { delivery, dispatch, startedAt: now, scheduled: trigger === null } };
}

/**
 * Sends a prepared attempt and records its outcome. No send starts while
 * attempts cannot be recorded: it would be sent again.
 */
export async function sendAttempt(
  deps: Deps,
  { delivery, dispatch, startedAt, scheduled }: ReadyAttempt,
  opts: { signal?: AbortSignal; onSlow?: () => void } = {},
): Promise<DispatchResult> {
  const { recording } = batchesOf(deps);
  if (!recording.open) {
    if (!scheduled) throw new Error("attempts cannot be recorded now; try again shortly");
    await recording.whenOpen();
    return RELOAD;
  }
  const { result, headers } = await send(deps, delivery, dispatch.request, opts.signal, opts.onSlow);
  observeAttempt(result, delivery.attempts === 0 ? delivery.createdAt : null);
  if (deps.logger.isLevelEnabled("debug")) logAttempt(deps, delivery, dispatch.trigger, result);
  const recorded = await recordOutcome(
    deps,
    delivery,
    dispatch.trigger,
    scheduled,
    startedAt,
    headers,
    result,
  );
  return recorded ?? RELOAD;
}

/** A MANUAL or TEST attempt, made now whatever the delivery's state. */
export async function deliverNow(
  deps: Deps,
  deliveryId: string,
  trigger: "MANUAL" | "TEST",
): Promise<DispatchResult> {
  const prepared = await prepareAttempt(deps, deliveryId, trigger);
  return "done" in prepared ? prepared.done : sendAttempt(deps, prepared.ready);
}

/**
 * Makes the HTTP call, in a span of its own whose `traceparent` goes with the
 * request (unless OUTBOUND_TRACEPARENT is off); the headers sent come back
 * with the result.
 */
function send(
  deps: Deps,
  delivery: LoadedDelivery,
  request: SignedRequest,
  signal: AbortSignal | undefined,
  onSlow: (() => void) | undefined,
): Promise<{ result: SendResult; headers: Record<string, string> }> {
  const attributes = {
    "http.request.method": "POST",
    "hookpost.delivery.id": delivery.id,
    "hookpost.endpoint.id": delivery.endpointId,
    "hookpost.event.id": delivery.eventId,
    "hookpost.attempt.number": delivery.attempts + 1,
  };
  return traced("hookpost.delivery.post", "client", attributes, async (span) => {
    const traceparent = deps.config.tracing.outboundTraceparent ? currentTraceparent() : null;
    const headers = traceparent ? { ...request.headers, traceparent } : request.headers;
    const result = await deps.sender.send({ ...request, headers, signal, onSlow });
    span.setAttributes({
      "http.response.status_code": result.status,
      "hookpost.attempt.outcome": attemptOutcomeLabel(result),
    });
    return { result, headers };
  });
}

/** One debug line per attempt, with the ids to find it by. */
function logAttempt(deps: Deps, delivery: LoadedDelivery, trigger: Trigger, result: SendResult): void {
  deps.logger.debug(
    {
      workspaceId: delivery.workspaceId,
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      endpointId: delivery.endpointId,
      attempt: delivery.attempts + 1,
      trigger,
      outcome: attemptOutcomeLabel(result),
      status: result.status,
      durationMs: Math.round(result.durationMs),
      error: result.error,
    },
    "delivery attempt",
  );
}

/**
 * A scheduled job whose delivery a replay claimed after the job loaded it
 * (the replay's enqueue found this job's id taken and added nothing): the job
 * runs again at once, with the delivery as it is now.
 */
const RELOAD: DispatchResult = { kind: "deferred", delayMs: 0 };

/**
 * Sets a delivery's state unless a replay claimed it since it was loaded
 * (its replayId changed); false if one did.
 */
async function settleAsLoaded(
  deps: Deps,
  delivery: LoadedDelivery,
  data: Prisma.DeliveryUpdateManyMutationInput,
): Promise<boolean> {
  const { count } = await deps.prisma.delivery.updateMany({
    where: { id: delivery.id, replayId: delivery.replayId },
    data,
  });
  return count === 1;
}

/** How often a closed recording gate tries the database. */
const RECORDING_PROBE_EVERY_MS = 1_000;
/** How long a scheduled attempt's outcome waits for the database to come back before it is given up. */
const RECORDING_HOLD_MS = 120_000;

/**
 * Writes an attempt. When the write fails, the gate closes and a scheduled
 * attempt's outcome waits for the database (its slot held, so no other send
 * starts here meanwhile) and is written then: its delivery is not sent again.
 */
async function writeOutcome(deps: Deps, scheduled: boolean, write: AttemptWrite): Promise<RecordedAttempt> {
  const { record, recording } = batchesOf(deps);
  const giveUpAt = Date.now() + RECORDING_HOLD_MS;
  for (;;) {
    try {
      return await record.run(write);
    } catch (err) {
      recording.failed(err);
      if (!scheduled || Date.now() > giveUpAt) throw err;
      await recording.whenOpen();
    }
  }
}

/** Null when a scheduled attempt's delivery was claimed by a replay meanwhile: the attempt is stored, the new claim left alone. */
async function recordOutcome(
  deps: Deps,
  delivery: LoadedDelivery,
  trigger: Trigger,
  scheduled: boolean,
  startedAt: Date,
  headers: Record<string, string>,
  result: SendResult,
): Promise<DispatchResult | null> {
  const { config } = deps;
  const now = new Date();
  const next = decideNextState({
    policy: retryPolicyFor(delivery.endpoint, {
      scheduleMs: config.delivery.retryScheduleMs,
      jitter: config.delivery.retryJitter,
      minAfterThrottleMs: config.delivery.retryMinAfterThrottleMs,
    }),
    trigger,
    status: delivery.status,
    retryStep: delivery.retryStep,
    nextAttemptAt: delivery.nextAttemptAt,
    firstAttemptAt: delivery.firstAttemptAt,
    startedAt,
    ok: result.ok,
    responseStatus: result.status,
    outcome: result.outcome,
    now,
  });
  const attempt: DeliveryAttempt = {
    id: newId("attempt", now.getTime()),
    workspaceId: delivery.workspaceId,
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    endpointId: delivery.endpointId,
    number: delivery.attempts + 1,
    trigger,
    url: delivery.endpoint.url,
    // The request headers as stored with the attempt: sensitive values redacted.
    requestHeaders: redactHeaders(headers, delivery.endpoint.sensitiveHeaders),
    responseStatus: result.status,
    responseHeaders: result.headers,
    responseBody: result.body,
    error: result.error,
    durationMs: Math.round(result.durationMs),
    succeeded: result.ok,
    startedAt,
    createdAt: now,
  };
  // Resolves once the attempt row and the delivery's new state are committed.
  const write: AttemptWrite = {
    attempt,
    change: {
      status: next.status,
      retryStep: next.retryStep,
      nextAttemptAt: next.nextAttemptAt,
      firstAttemptAt: next.firstAttemptAt,
      // Whatever ran this attempt, the next scheduled one is a retry.
      trigger: next.status === "RETRYING" ? "RETRY" : delivery.trigger,
      lastResponseStatus: result.status,
      lastError: result.error,
      succeededAt: result.ok ? now : null,
    },
    failedForGood: next.status === "FAILED" && delivery.status !== "FAILED",
    // MANUAL and TEST attempts record their outcome whatever happened meanwhile.
    claimedBy: scheduled ? { replayId: delivery.replayId } : null,
  };
  const { delivery: updated, health } = await traced(
    "hookpost.attempt.write",
    "internal",
    { "hookpost.delivery.id": delivery.id, "hookpost.delivery.status": next.status },
    () => writeOutcome(deps, scheduled, write),
  );
  if (health) await actOnHealthChange(deps, health);
  if (!updated) {
    if (scheduled) return null;
    throw new Error(`delivery ${delivery.id} was deleted during its attempt`);
  }
  await announce(deps, delivery, updated, attempt);
  return { kind: "attempted", attempt, delivery: updated, retryDelayMs: next.retryDelayMs, result };
}

function healthPolicy(config: Deps["config"]): HealthPolicy {
  const { circuit, endpointFailureThreshold, endpointDisableAfterMs } = config.delivery;
  return {
    circuitFailureThreshold: circuit.failureThreshold,
    circuitCooldownMs: circuit.cooldownMs,
    disableAfterFailedDeliveries: endpointFailureThreshold,
    disableAfterMs: endpointDisableAfterMs,
  };
}

/** Tells what an attempt (or a settle without one) did: the live feed, and operational events. */
async function announce(
  deps: Deps,
  before: LoadedDelivery,
  after: Delivery,
  attempt: DeliveryAttempt | null,
) {
  if (attempt) {
    deps.pubsub.publish("delivery-attempt", before.workspaceId, {
      ...attempt,
      event: before.event,
      endpoint: before.endpoint,
      delivery: after,
    });
  }
  const data = {
    deliveryId: after.id,
    eventId: after.eventId,
    endpointId: after.endpointId,
    eventType: after.eventType,
  };
  // Notices about notices would loop, and test sends (of any sample type) are not the endpoint's real traffic.
  if (OPERATIONAL_EVENT_TYPES.has(before.event.type) || before.event.isTest) return;
  if (after.status === "FAILED" && before.status !== "FAILED") {
    await recordOperationalEvent(deps, after.workspaceId, "delivery.exhausted", {
      ...data,
      attempts: after.attempts,
      lastError: after.lastError,
      lastResponseStatus: after.lastResponseStatus,
    });
  } else if (after.status === "SUCCEEDED" && before.retryStep > 0) {
    await recordOperationalEvent(deps, after.workspaceId, "delivery.recovered", {
      ...data,
      attempts: after.attempts,
    });
  }
}
