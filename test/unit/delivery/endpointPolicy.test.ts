import { describe, expect, it } from "vitest";
import {
  checkWholeNumber,
  formatDurationMs,
  parseRetrySchedule,
  retryPolicyFor,
  withinRetryWindow,
} from "../../../src/delivery/endpointPolicy.ts";
import { decideNextState } from "../../../src/delivery/nextState.ts";
import type { RetryPolicy } from "../../../src/delivery/retrySchedule.ts";

const SERVER: RetryPolicy = { scheduleMs: [5_000, 30_000, 120_000], jitter: 0, minAfterThrottleMs: 60_000 };
const NO_LIMITS = { retryScheduleMs: [], retryForSeconds: null };
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

describe("parseRetrySchedule", () => {
  it("reads durations as RETRY_SCHEDULE does", () => {
    expect(parseRetrySchedule(["5s", "10s", "20s"])).toEqual({ ok: true, value: [5_000, 10_000, 20_000] });
    expect(parseRetrySchedule(["100ms", "1.5s", "2m", "1h", "1d", "250"])).toEqual({
      ok: true,
      value: [100, 1_500, 120_000, 3_600_000, 86_400_000, 250],
    });
  });

  it.each([
    [[], "1 to 20"],
    [Array(21).fill("5s"), "1 to 20"],
    [["5 seconds"], "not a duration"],
    [["-5s"], "not a duration"],
    [["x".repeat(10_000)], "not a duration"],
    [["50ms"], "between 100ms and 7d"],
    [["8d"], "between 100ms and 7d"],
  ])("refuses %j", (texts, reason) => {
    const parsed = parseRetrySchedule(texts as string[]);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });
});

describe("checkWholeNumber", () => {
  it("takes integers within bounds only", () => {
    expect(checkWholeNumber("n", 3, 1, 5)).toEqual({ ok: true, value: 3 });
    for (const bad of [0, 6, 1.5, Number.NaN]) expect(checkWholeNumber("n", bad, 1, 5).ok).toBe(false);
  });
});

describe("formatDurationMs", () => {
  it("writes back what parseRetrySchedule reads", () => {
    const texts = ["100ms", "1500ms", "5s", "90s", "2m", "1h", "1d"];
    expect(texts.map((t) => formatDurationMs(parseOne(t)))).toEqual(texts);
  });
});

function parseOne(text: string): number {
  const parsed = parseRetrySchedule([text]);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value[0]!;
}

describe("retryPolicyFor", () => {
  it("is the server's policy when the endpoint sets nothing", () => {
    expect(retryPolicyFor(NO_LIMITS, SERVER)).toEqual({ ...SERVER, giveUpAfterMs: null });
  });

  it("takes the endpoint's schedule and give-up age, keeping jitter and the throttle floor", () => {
    expect(retryPolicyFor({ retryScheduleMs: [100, 200], retryForSeconds: 60 }, SERVER)).toEqual({
      ...SERVER,
      scheduleMs: [100, 200],
      giveUpAfterMs: 60_000,
    });
  });
});

describe("withinRetryWindow", () => {
  it("leaves the delay alone without a give-up age", () => {
    expect(withinRetryWindow(5_000, null, at(0), at(999_999_999))).toBe(5_000);
    expect(withinRetryWindow(null, 10_000, at(0), at(0))).toBeNull();
  });

  it("cuts a retry due after the give-up age to that age, and gives up once it is reached", () => {
    expect(withinRetryWindow(5_000, 10_000, at(0), at(1_000))).toBe(5_000);
    expect(withinRetryWindow(5_000, 10_000, at(0), at(8_000))).toBe(2_000);
    expect(withinRetryWindow(5_000, 10_000, at(0), at(10_000))).toBeNull();
    expect(withinRetryWindow(5_000, 0, at(0), at(0))).toBeNull();
  });
});

describe("decideNextState with an endpoint's policy", () => {
  const failure = {
    trigger: "SCHEDULED" as const,
    status: "PENDING" as const,
    nextAttemptAt: null,
    ok: false,
    responseStatus: 500,
    outcome: { kind: "http" as const, status: 500 },
  };

  /** Walks failed scheduled attempts, each made when the one before said, until the delivery is FAILED. */
  function walk(policy: RetryPolicy, answerMs = 0) {
    let state = { retryStep: 0, firstAttemptAt: null as Date | null, status: "PENDING" as const };
    let now = at(0);
    const attemptsAt: number[] = [];
    for (;;) {
      attemptsAt.push(now.getTime() - at(0).getTime());
      const startedAt = now;
      now = new Date(now.getTime() + answerMs);
      const next = decideNextState({ ...failure, policy, ...state, startedAt, now });
      if (next.status === "FAILED") return { attemptsAt, firstAttemptAt: next.firstAttemptAt };
      expect(next.status).toBe("RETRYING");
      state = { retryStep: next.retryStep, firstAttemptAt: next.firstAttemptAt, status: "PENDING" };
      now = next.nextAttemptAt!;
    }
  }

  it("makes one attempt more than the schedule has delays, at those delays", () => {
    const policy = retryPolicyFor(
      { retryScheduleMs: [5_000, 10_000, 20_000], retryForSeconds: null },
      SERVER,
    );
    expect(walk(policy).attemptsAt).toEqual([0, 5_000, 15_000, 35_000]);
  });

  it("gives up once the first attempt is retryForSeconds old, the last retry made at that age", () => {
    const policy = retryPolicyFor(
      { retryScheduleMs: [4_000, 4_000, 4_000, 4_000], retryForSeconds: 10 },
      SERVER,
    );
    const { attemptsAt, firstAttemptAt } = walk(policy);
    expect(attemptsAt).toEqual([0, 4_000, 8_000, 10_000]);
    expect(firstAttemptAt).toEqual(at(0));
  });

  it("counts the age from the first attempt's start, however slow the answers", () => {
    const policy = retryPolicyFor({ retryScheduleMs: [1_000, 1_000, 1_000], retryForSeconds: 5 }, SERVER);
    expect(walk(policy, 2_000).attemptsAt).toEqual([0, 3_000]);
  });

  it("gives up at the first failure with retryForSeconds 0", () => {
    const policy = retryPolicyFor({ retryScheduleMs: [], retryForSeconds: 0 }, SERVER);
    expect(walk(policy).attemptsAt).toEqual([0]);
  });

  it("keeps the first attempt's time through a manual attempt, and starts afresh from step 0", () => {
    const policy = retryPolicyFor(NO_LIMITS, SERVER);
    const manual = decideNextState({
      ...failure,
      policy,
      trigger: "MANUAL",
      status: "RETRYING",
      retryStep: 1,
      firstAttemptAt: at(0),
      startedAt: at(3_000),
      now: at(3_000),
    });
    expect(manual.firstAttemptAt).toEqual(at(0));
    const afresh = decideNextState({
      ...failure,
      policy,
      retryStep: 0,
      firstAttemptAt: at(0),
      startedAt: at(9_000),
      now: at(9_000),
    });
    expect(afresh.firstAttemptAt).toEqual(at(9_000));
  });
});
