import type { Delivery, DeliveryAttempt, Endpoint, Event, Prisma } from "../db/generated/client.ts";
import type { SendResult } from "../delivery/httpSender.ts";
import { decideNextState, type Trigger } from "../delivery/nextState.ts";
import { eventBody } from "../delivery/payload.ts";
import { buildSignedHeaders } from "../delivery/signing.ts";
import type { Deps } from "../deps.ts";
import { newId } from "../ids.ts";
import { USER_AGENT } from "../version.ts";
import { signingSecrets } from "./endpoints.ts";
import { OPERATIONAL_EVENT_TYPES } from "./eventTypes.ts";
import { publishEndpointChange, recordOperationalEvent } from "./operational.ts";

/**
 * The delivery pipeline, one attempt at a time:
 * prepare (load, decide whether to send) → send (sign, POST) → record (attempt
 * row, delivery state, endpoint health) → tell (live feed, operational events).
 */

export type DispatchResult =
  | { kind: "skipped"; reason: string }
  | {
      kind: "attempted";
      attempt: DeliveryAttempt;
      delivery: Delivery;
      retryDelayMs: number | null;
      result: SendResult;
    };

type LoadedDelivery = Delivery & { event: Event; endpoint: Endpoint };

const ACTIVE = new Set(["PENDING", "RETRYING"]);

/**
 * Makes one attempt of a delivery. Scheduled work (`trigger` omitted) only runs
 * for PENDING/RETRYING deliveries of enabled endpoints; MANUAL and TEST
 * attempts run whatever the state.
 */
export async function deliverAttempt(
  deps: Deps,
  deliveryId: string,
  opts: { trigger?: "MANUAL" | "TEST"; signal?: AbortSignal } = {},
): Promise<DispatchResult> {
  const delivery = await deps.prisma.delivery.findUnique({
    where: { id: deliveryId },
    include: { event: true, endpoint: true },
  });
  if (!delivery) return { kind: "skipped", reason: "delivery no longer exists" };
  if (!opts.trigger) {
    if (!ACTIVE.has(delivery.status)) return { kind: "skipped", reason: `delivery is ${delivery.status}` };
    if (!delivery.endpoint.enabled) {
      await deps.prisma.delivery.update({
        where: { id: delivery.id },
        data: { status: "FAILED", nextAttemptAt: null, lastError: "endpoint is disabled" },
      });
      return { kind: "skipped", reason: "endpoint is disabled" };
    }
  }
  const trigger: Trigger = opts.trigger ?? delivery.trigger;
  const startedAt = new Date();
  const body = eventBody(delivery.event);
  const headers = buildSignedHeaders({
    msgId: delivery.event.id,
    timestampS: Math.floor(startedAt.getTime() / 1_000),
    body,
    secrets: signingSecrets(delivery.endpoint, startedAt),
    eventType: delivery.event.type,
    userAgent: USER_AGENT,
    custom: delivery.endpoint.headers as Record<string, string>,
  });
  const result = await deps.sender.send({ url: delivery.endpoint.url, headers, body, signal: opts.signal });
  return recordAttempt(deps, delivery, trigger, startedAt, headers, body, result);
}

async function recordAttempt(
  deps: Deps,
  delivery: LoadedDelivery,
  trigger: Trigger,
  startedAt: Date,
  headers: Record<string, string>,
  body: string,
  result: SendResult,
): Promise<DispatchResult> {
  const { config, prisma } = deps;
  const now = new Date();
  const next = decideNextState({
    policy: {
      scheduleMs: config.delivery.retryScheduleMs,
      jitter: config.delivery.retryJitter,
      minAfterThrottleMs: config.delivery.retryMinAfterThrottleMs,
    },
    trigger,
    status: delivery.status,
    retryStep: delivery.retryStep,
    nextAttemptAt: delivery.nextAttemptAt,
    ok: result.ok,
    responseStatus: result.status,
    outcome: result.outcome,
    now,
  });
  const attemptData: Prisma.DeliveryAttemptUncheckedCreateInput = {
    id: newId("attempt", now.getTime()),
    workspaceId: delivery.workspaceId,
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    endpointId: delivery.endpointId,
    number: delivery.attempts + 1,
    trigger,
    url: delivery.endpoint.url,
    requestHeaders: headers,
    requestBody: body,
    responseStatus: result.status,
    responseHeaders: result.headers ?? undefined,
    responseBody: result.body,
    error: result.error,
    durationMs: Math.round(result.durationMs),
    succeeded: result.ok,
    startedAt,
    createdAt: now,
  };
  const [attempt, updated] = await prisma.$transaction([
    prisma.deliveryAttempt.create({ data: attemptData }),
    prisma.delivery.update({
      where: { id: delivery.id },
      data: {
        status: next.status,
        retryStep: next.retryStep,
        nextAttemptAt: next.nextAttemptAt,
        // Whatever ran this attempt, the next scheduled one is a retry.
        trigger: next.status === "RETRYING" ? "RETRY" : delivery.trigger,
        attempts: { increment: 1 },
        lastAttemptAt: now,
        lastResponseStatus: result.status,
        lastError: result.error,
        ...(result.ok ? { succeededAt: now } : {}),
      },
    }),
  ]);
  deps.pubsub.publish("delivery-attempt", delivery.workspaceId, {
    ...attempt,
    event: delivery.event,
    endpoint: delivery.endpoint,
    delivery: updated,
  });
  if (trigger !== "TEST") await trackEndpointHealth(deps, delivery, result, next.gone);
  await announceDeliveryOutcome(deps, delivery, updated);
  return { kind: "attempted", attempt, delivery: updated, retryDelayMs: next.retryDelayMs, result };
}

/**
 * Counts consecutive failed attempts per endpoint and disables it at the
 * threshold (or at once on 410 Gone). The conditional update means only one
 * of many concurrent workers disables it and announces it.
 */
async function trackEndpointHealth(deps: Deps, delivery: LoadedDelivery, result: SendResult, gone: boolean) {
  const { prisma } = deps;
  const endpointId = delivery.endpointId;
  if (result.ok) {
    if (delivery.endpoint.consecutiveFailures > 0) {
      await prisma.endpoint.updateMany({ where: { id: endpointId }, data: { consecutiveFailures: 0 } });
    }
    return;
  }
  const counted = await prisma.endpoint.update({
    where: { id: endpointId },
    data: { consecutiveFailures: { increment: 1 } },
    select: { consecutiveFailures: true, enabled: true },
  });
  const threshold = deps.config.delivery.endpointFailureThreshold;
  const reason = gone
    ? "the endpoint answered 410 Gone"
    : threshold > 0 && counted.consecutiveFailures >= threshold
      ? `${counted.consecutiveFailures} consecutive failed attempts`
      : null;
  if (!reason || !counted.enabled) return;
  const { count } = await prisma.endpoint.updateMany({
    where: { id: endpointId, enabled: true },
    data: { enabled: false, disabledReason: reason, disabledAt: new Date() },
  });
  if (count === 1)
    await publishEndpointChange(deps, await prisma.endpoint.findUniqueOrThrow({ where: { id: endpointId } }));
}

async function announceDeliveryOutcome(deps: Deps, before: LoadedDelivery, after: Delivery) {
  const data = {
    deliveryId: after.id,
    eventId: after.eventId,
    endpointId: after.endpointId,
    eventType: after.eventType,
  };
  // Notices about notices would loop, and test sends are not the endpoint's real traffic.
  if (OPERATIONAL_EVENT_TYPES.has(before.event.type) || before.event.type === "webhook.test") return;
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
