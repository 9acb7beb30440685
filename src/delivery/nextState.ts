import { withinRetryWindow } from "./endpointPolicy.ts";
import { type AttemptOutcome, computeRetryDelay, type RetryPolicy } from "./retrySchedule.ts";

export type DeliveryState = "PENDING" | "SUCCEEDED" | "RETRYING" | "FAILED" | "CANCELLED";
export type Trigger = "SCHEDULED" | "RETRY" | "MANUAL" | "REPLAY" | "TEST";

export type NextState = {
  status: DeliveryState;
  /** Failed attempts since the delivery last started afresh; indexes the retry schedule. */
  retryStep: number;
  nextAttemptAt: Date | null;
  retryDelayMs: number | null;
  /** When the first attempt since the delivery started afresh began: the give-up age counts from it. */
  firstAttemptAt: Date | null;
  /** The endpoint answered 410 Gone and must be disabled now. */
  gone: boolean;
};

/**
 * What a delivery becomes after one attempt. Scheduled, retry and replay
 * attempts walk the retry schedule; a manual or test attempt is one extra try
 * that never schedules retries of its own (a RETRYING delivery keeps its
 * pending retry). With a give-up age, no retry is due after it.
 */
export function decideNextState(input: {
  policy: RetryPolicy;
  trigger: Trigger;
  status: DeliveryState;
  retryStep: number;
  nextAttemptAt: Date | null;
  firstAttemptAt: Date | null;
  /** When this attempt began. */
  startedAt: Date;
  ok: boolean;
  responseStatus: number | null;
  outcome: AttemptOutcome;
  now: Date;
  random?: () => number;
}): NextState {
  const { policy, trigger, status, retryStep, now } = input;
  const oneOff = trigger === "MANUAL" || trigger === "TEST";
  // A scheduled attempt from step 0 starts the delivery's run afresh.
  const firstAttemptAt = oneOff
    ? input.firstAttemptAt
    : retryStep === 0
      ? input.startedAt
      : (input.firstAttemptAt ?? input.startedAt);
  const settled = { firstAttemptAt, nextAttemptAt: null, retryDelayMs: null };
  if (input.ok) return { status: "SUCCEEDED", retryStep: 0, ...settled, gone: false };
  const gone = input.responseStatus === 410;
  if (oneOff && !gone && status === "RETRYING") {
    return { status, retryStep, ...settled, nextAttemptAt: input.nextAttemptAt, gone: false };
  }
  const delay =
    oneOff || gone
      ? null
      : withinRetryWindow(
          computeRetryDelay(policy, retryStep + 1, input.outcome, input.random, now.getTime()),
          policy.giveUpAfterMs,
          firstAttemptAt ?? input.startedAt,
          now,
        );
  if (delay === null) return { status: "FAILED", retryStep: retryStep + 1, ...settled, gone };
  return {
    status: "RETRYING",
    retryStep: retryStep + 1,
    firstAttemptAt,
    nextAttemptAt: new Date(now.getTime() + delay),
    retryDelayMs: delay,
    gone: false,
  };
}
