import { parseDurationMs } from "../config.ts";
import type { RetryPolicy } from "./retrySchedule.ts";

/**
 * An endpoint's own delivery policy, overriding the server's defaults
 * (RETRY_SCHEDULE, no give-up age, no rate limit). Pure: parsing what an API
 * user sends, and applying it to one delivery's retry.
 */

/** What an endpoint row stores: an empty schedule or a null means the server's default. */
export type EndpointPolicy = {
  retryScheduleMs: readonly number[];
  retryForSeconds: number | null;
  rateLimitPerSecond: number | null;
};

export const MAX_RETRY_STEPS = 20;
export const MIN_RETRY_DELAY_MS = 100;
export const MAX_RETRY_DELAY_MS = 7 * 86_400_000;
export const MAX_RETRY_FOR_S = 30 * 86_400;
export const MAX_RATE_PER_S = 10_000;

/** A reason the input is refused, or the parsed value. */
type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** `["5s","10s","20s"]` → delays in ms, read as RETRY_SCHEDULE is; bounded in length and values. */
export function parseRetrySchedule(texts: readonly string[]): Parsed<number[]> {
  if (texts.length === 0 || texts.length > MAX_RETRY_STEPS)
    return { ok: false, reason: `retrySchedule takes 1 to ${MAX_RETRY_STEPS} durations` };
  const delaysMs: number[] = [];
  for (const text of texts) {
    const ms = text.length <= 32 ? parseDurationMs(text) : undefined;
    if (ms === undefined)
      return {
        ok: false,
        reason: `retrySchedule: "${text.slice(0, 32)}" is not a duration (e.g. "250ms", "5s", "2m", "1h", "1d")`,
      };
    if (ms < MIN_RETRY_DELAY_MS || ms > MAX_RETRY_DELAY_MS)
      return {
        ok: false,
        reason: `retrySchedule: each delay must be between ${formatDurationMs(MIN_RETRY_DELAY_MS)} and ${formatDurationMs(MAX_RETRY_DELAY_MS)}`,
      };
    delaysMs.push(ms);
  }
  return { ok: true, value: delaysMs };
}

/** An integer setting within [min, max], or the reason it is not. */
export function checkWholeNumber(field: string, value: number, min: number, max: number): Parsed<number> {
  if (!Number.isInteger(value) || value < min || value > max)
    return { ok: false, reason: `${field} must be a whole number from ${min} to ${max}` };
  return { ok: true, value };
}

/** Milliseconds in the largest unit that divides them: 5000 → "5s", 90000 → "90s", 250 → "250ms". */
export function formatDurationMs(ms: number): string {
  const units = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const;
  const [unit, size] = units.find(([, size]) => ms % size === 0 && ms >= size) ?? ["ms", 1];
  return `${ms / size}${unit}`;
}

/** The retry policy for deliveries to this endpoint: its own schedule and give-up age where set. */
export function retryPolicyFor(
  endpoint: Pick<EndpointPolicy, "retryScheduleMs" | "retryForSeconds">,
  server: RetryPolicy,
): RetryPolicy {
  return {
    ...server,
    scheduleMs: endpoint.retryScheduleMs.length > 0 ? endpoint.retryScheduleMs : server.scheduleMs,
    giveUpAfterMs: endpoint.retryForSeconds === null ? null : endpoint.retryForSeconds * 1_000,
  };
}

/**
 * The retry delay kept within the give-up age: none once the first attempt is
 * `giveUpAfterMs` old, and never a retry due after that (it is made at that age instead).
 */
export function withinRetryWindow(
  delayMs: number | null,
  giveUpAfterMs: number | null | undefined,
  firstAttemptAt: Date,
  now: Date,
): number | null {
  if (delayMs === null || giveUpAfterMs == null) return delayMs;
  const leftMs = firstAttemptAt.getTime() + giveUpAfterMs - now.getTime();
  return leftMs <= 0 ? null : Math.min(delayMs, leftMs);
}
