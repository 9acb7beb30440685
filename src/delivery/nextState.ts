import { type AttemptOutcome, computeRetryDelay, type RetryPolicy } from "./retrySchedule.ts";

export type DeliveryState = "PENDING" | "SUCCEEDED" | "RETRYING" | "FAILED" | "CANCELLED";
export type Trigger = "SCHEDULED" | "RETRY" | "MANUAL" | "REPLAY" | "TEST";

export type NextState = {
  status: DeliveryState;
  /** Failed attempts since the delivery last started afresh; indexes the retry schedule. */
  retryStep: number;
  nextAttemptAt: Date | null;
  retryDelayMs: number | null;
  /** The endpoint answered 410 Gone and must be disabled now. */
  gone: boolean;
};

/**
 * What a delivery becomes after one attempt. Scheduled, retry and replay
 * attempts walk the retry schedule; a manual or test attempt is one extra try
 * that never schedules retries of its own (a RETRYING delivery keeps its
 * pending retry).
 */
export function decideNextState(input: {
  policy: RetryPolicy;
  trigger: Trigger;
  status: DeliveryState;
  retryStep: number;
  nextAttemptAt: Date | null;
  ok: boolean;
  responseStatus: number | null;
  outcome: AttemptOutcome;
  now: Date;
  random?: () => number;
}): NextState {
  const { policy, trigger, status, retryStep, now } = input;
  if (input.ok)
    return { status: "SUCCEEDED", retryStep: 0, nextAttemptAt: null, retryDelayMs: null, gone: false };
  const gone = input.responseStatus === 410;
  const oneOff = trigger === "MANUAL" || trigger === "TEST";
  if (oneOff && !gone && status === "RETRYING") {
    return { status, retryStep, nextAttemptAt: input.nextAttemptAt, retryDelayMs: null, gone: false };
  }
  const delay =
    oneOff || gone
      ? null
      : computeRetryDelay(policy, retryStep + 1, input.outcome, input.random, now.getTime());
  if (delay === null)
    return { status: "FAILED", retryStep: retryStep + 1, nextAttemptAt: null, retryDelayMs: null, gone };
  return {
    status: "RETRYING",
    retryStep: retryStep + 1,
    nextAttemptAt: new Date(now.getTime() + delay),
    retryDelayMs: delay,
    gone: false,
  };
}
