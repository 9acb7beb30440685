import { sampleRss } from "../../bench/rss.ts";
import type { Answer, Responder } from "../receiver.ts";
import type { ChaosContext, ScenarioPlan } from "../scenario.ts";

/**
 * A healthy but flaky receiver, as issue 31 saw it: the first attempt of every
 * third event gets 500, every later attempt 200. The endpoint must stay
 * enabled, and every failure it answered must be recorded as a failed attempt.
 * Its result gives the longest run of failed attempts in record order, to set
 * beside the endpoint's consecutiveFailures.
 */
export function flaky(ctx: ChaosContext): ScenarioPlan {
  let seen = 0;
  let failed = 0;
  let longestFailedRun = 0;
  const respond: Responder = (_id, earlier) => {
    if (earlier > 0 || seen++ % 3 !== 0) return "ok";
    failed++;
    return "fail";
  };
  return {
    name: "flaky",
    events: ctx.quick ? 150 : 600,
    publishPerS: ctx.quick ? 75 : 100,
    respond,
    duplicates: "none",
    detail: () => ({ failuresAnswered: failed, longestFailedRun }),
    async check(run) {
      const attempts = await ctx.stack.prisma.deliveryAttempt.findMany({
        where: { endpointId: run.endpointId },
        orderBy: [{ createdAt: "asc" }, { startedAt: "asc" }],
        select: { succeeded: true },
      });
      longestFailedRun = longestRun(attempts.map((a) => !a.succeeded));
      const recorded = attempts.filter((a) => !a.succeeded).length;
      return recorded === failed
        ? []
        : [`${recorded} failed attempts recorded, the receiver answered ${failed} failures`];
    },
  };
}

/** The longest run of consecutive trues: the longest run of failed attempts, in record order. */
function longestRun(flags: readonly boolean[]): number {
  let longest = 0;
  let current = 0;
  for (const flag of flags) {
    current = flag ? current + 1 : 0;
    longest = Math.max(longest, current);
  }
  return longest;
}

/** Answers `broken` to everything from the first request until `forMs` after it, 200 after that. */
function brokenFor(broken: Answer, forMs: number): Responder {
  let firstAt: number | undefined;
  return () => {
    firstAt ??= Date.now();
    return Date.now() - firstAt < forMs ? broken : "ok";
  };
}

/**
 * The receiver fails everything for 3 s: the endpoint's circuit opens, its
 * deliveries wait, and the probe's success releases them all, each once.
 */
export function circuit(ctx: ChaosContext): ScenarioPlan {
  return {
    name: "circuit",
    events: ctx.quick ? 100 : 500,
    publishPerS: 100,
    respond: brokenFor("fail", 3_000),
    duplicates: "none",
  };
}

/** The receiver hangs (never answers) for a few seconds; attempts time out and are retried. */
export function hang(ctx: ChaosContext): ScenarioPlan {
  return {
    name: "hang",
    events: ctx.quick ? 60 : 300,
    publishPerS: ctx.quick ? 30 : 50,
    respond: brokenFor("hang", ctx.quick ? 4_000 : 6_000),
    duplicates: "none",
  };
}

/** Every answer is 200 with a 50 MB body streamed: it counts as delivered, and the worker must not hold the body. */
export function stream(ctx: ChaosContext): ScenarioPlan {
  let rss: ReturnType<typeof sampleRss> | undefined;
  return {
    name: "stream",
    events: ctx.quick ? 3 : 20,
    publishPerS: 2,
    respond: () => "stream",
    duplicates: "none",
    async inject() {
      rss = sampleRss(ctx.stack.worker().pid, 100);
    },
    detail() {
      rss?.stop();
      return { workerPeakRssMb: Math.round(rss?.summary().peakMb ?? Number.NaN) };
    },
  };
}
