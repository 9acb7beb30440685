/**
 * The single place that decides how long a failed delivery waits before its
 * next attempt (DESIGN.md, "Delivery contract").
 */

/** What one attempt ended with, as far as retry timing is concerned. */
export type AttemptOutcome =
  | { kind: "http"; status: number; retryAfter?: string | undefined }
  | { kind: "timeout" }
  | { kind: "network" };

export type RetryPolicy = {
  /** Delay after the 1st, 2nd, … failure; the delivery fails for good after the last. */
  scheduleMs: readonly number[];
  /** ±fraction of uniform random jitter, so retries of a burst do not arrive together. */
  jitter: number;
  /** Floor after a timeout or a 429: the receiver is overloaded, hammering it makes things worse. */
  minAfterThrottleMs: number;
  /** Give up once the first attempt is this old (an endpoint's retryForSeconds); null: when the schedule ends. */
  giveUpAfterMs?: number | null;
};

/**
 * Milliseconds to wait before the next attempt, or null when the schedule is
 * exhausted. `failedAttempts` counts failures so far, this one included.
 *
 * A `Retry-After` header replaces the jittered delay but is clamped to 1×–2×
 * the scheduled delay: a receiver may slow us down, within reason, but not
 * make us retry sooner than the schedule nor park a delivery for days.
 */
export function computeRetryDelay(
  policy: RetryPolicy,
  failedAttempts: number,
  outcome: AttemptOutcome,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
): number | null {
  const scheduledMs = policy.scheduleMs[failedAttempts - 1];
  if (scheduledMs === undefined) return null;

  let delayMs = scheduledMs * (1 + policy.jitter * (2 * random() - 1));

  const retryAfterMs = outcome.kind === "http" ? parseRetryAfterMs(outcome.retryAfter, nowMs) : undefined;
  if (retryAfterMs !== undefined) delayMs = Math.min(Math.max(retryAfterMs, scheduledMs), 2 * scheduledMs);

  const throttled = outcome.kind === "timeout" || (outcome.kind === "http" && outcome.status === 429);
  if (throttled) delayMs = Math.max(delayMs, policy.minAfterThrottleMs);

  return Math.round(delayMs);
}

/** Only 2xx counts as delivered; redirects are not followed, so 3xx is a failure. */
export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/** `Retry-After` as delta-seconds or an HTTP-date, in ms from `nowMs`; undefined when absent or unreadable. */
function parseRetryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  const dateMs = Date.parse(value);
  return Number.isNaN(dateMs) ? undefined : dateMs - nowMs;
}
