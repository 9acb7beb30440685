import { describe, expect, it } from "vitest";
import {
  type AttemptOutcome,
  computeRetryDelay,
  isSuccessStatus,
  type RetryPolicy,
} from "../../../src/delivery/retrySchedule.ts";

const S = 1_000;
const policy: RetryPolicy = {
  scheduleMs: [5 * S, 30 * S, 120 * S, 600 * S],
  jitter: 0.2,
  minAfterThrottleMs: 60 * S,
};
const noJitter: RetryPolicy = { ...policy, jitter: 0 };
const http500: AttemptOutcome = { kind: "http", status: 500 };
const middle = () => 0.5; // uniform draw that yields zero jitter
const nowMs = Date.parse("2025-01-01T00:00:00Z");

describe("computeRetryDelay", () => {
  it("follows the schedule step by step", () => {
    expect([1, 2, 3, 4].map((n) => computeRetryDelay(policy, n, http500, middle))).toEqual([
      5 * S,
      30 * S,
      120 * S,
      600 * S,
    ]);
  });

  it("returns null once the schedule is exhausted", () => {
    expect(computeRetryDelay(policy, 5, http500, middle)).toBeNull();
    expect(computeRetryDelay(policy, 50, { kind: "network" }, middle)).toBeNull();
  });

  it("keeps jitter within ±jitter of the scheduled delay", () => {
    expect(computeRetryDelay(policy, 2, http500, () => 0)).toBe(24 * S);
    expect(computeRetryDelay(policy, 2, http500, () => 0.999_999)).toBe(36 * S);
    for (let i = 0; i < 200; i++) {
      const delay = computeRetryDelay(policy, 2, http500) ?? Number.NaN;
      expect(Number.isInteger(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(24 * S);
      expect(delay).toBeLessThanOrEqual(36 * S);
    }
  });

  it("waits at least minAfterThrottleMs after a timeout or a 429", () => {
    expect(computeRetryDelay(policy, 1, { kind: "timeout" }, middle)).toBe(60 * S);
    expect(computeRetryDelay(policy, 1, { kind: "http", status: 429 }, middle)).toBe(60 * S);
    expect(computeRetryDelay(policy, 1, { kind: "network" }, middle)).toBe(5 * S);
    // A scheduled delay above the floor is kept.
    expect(computeRetryDelay(policy, 3, { kind: "timeout" }, middle)).toBe(120 * S);
  });

  it("honours Retry-After in seconds, clamped to 1×–2× the scheduled delay", () => {
    const retryAfter = (value: string) =>
      computeRetryDelay(noJitter, 2, { kind: "http", status: 503, retryAfter: value }, middle, nowMs);
    expect(retryAfter("45")).toBe(45 * S);
    expect(retryAfter("1")).toBe(30 * S);
    expect(retryAfter("86400")).toBe(60 * S);
    expect(retryAfter("soon")).toBe(30 * S);
  });

  it("honours Retry-After as an HTTP-date relative to now, clamped both ways", () => {
    const at = (offsetMs: number) => new Date(nowMs + offsetMs).toUTCString();
    const retryAfter = (value: string) =>
      computeRetryDelay(noJitter, 2, { kind: "http", status: 503, retryAfter: value }, middle, nowMs);
    expect(retryAfter(at(40 * S))).toBe(40 * S);
    expect(retryAfter(at(-3_600 * S))).toBe(30 * S);
    expect(retryAfter(at(3_600 * S))).toBe(60 * S);
  });

  it("replaces jitter with Retry-After, and still applies the 429 floor", () => {
    const outcome: AttemptOutcome = { kind: "http", status: 429, retryAfter: "8" };
    expect(computeRetryDelay(policy, 1, outcome, () => 0, nowMs)).toBe(60 * S);
    expect(computeRetryDelay({ ...policy, minAfterThrottleMs: 0 }, 1, outcome, () => 0, nowMs)).toBe(8 * S);
  });
});

describe("status helpers", () => {
  it("treats only 2xx as success", () => {
    expect([200, 201, 204, 299].every(isSuccessStatus)).toBe(true);
    expect([100, 199, 300, 302, 404, 410, 500].some(isSuccessStatus)).toBe(false);
  });
});
