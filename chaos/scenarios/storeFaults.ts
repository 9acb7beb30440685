import { sleep } from "../publisher.ts";
import type { ChaosContext, LiveRun, ScenarioPlan } from "../scenario.ts";

const storeScenario = (ctx: ChaosContext) => ({
  events: ctx.quick ? 300 : 3_000,
  publishPerS: ctx.quick ? 150 : 300,
});

/** FLUSHALL mid-delivery: every queued delivery is gone from Redis; the database has them. */
export function flush(ctx: ChaosContext): ScenarioPlan {
  return redisFault(ctx, "flush", "FLUSHALL", () => ctx.stack.redis.flushAll());
}

/** Redis shuts down mid-delivery and is back a second later, with its data. */
export function redisRestart(ctx: ChaosContext): ScenarioPlan {
  return redisFault(ctx, "redis-restart", "Redis restarted (down 1 s)", () => ctx.stack.redis.restart(1_000));
}

/** Injects a Redis fault once 40 % of the events were delivered. */
function redisFault(ctx: ChaosContext, name: string, what: string, act: () => Promise<void>): ScenarioPlan {
  const { events, publishPerS } = storeScenario(ctx);
  return {
    name,
    events,
    publishPerS,
    duplicates: "none",
    async inject(run) {
      await run.untilAccepted(Math.floor(events * 0.4));
      const openAtReceiver = run.box.open;
      await act();
      run.fault({ what, detail: { openAtReceiver } });
    },
  };
}

/** PostgreSQL crashes mid-publish and mid-delivery and starts again at once. */
export function postgresRestart(ctx: ChaosContext): ScenarioPlan {
  return postgresCrash(ctx, "pg-restart", 0);
}

/** PostgreSQL crashes mid-publish and mid-delivery and is down for 15 s. */
export function postgresOutage(ctx: ChaosContext): ScenarioPlan {
  return postgresCrash(ctx, "pg-outage", ctx.quick ? 3_000 : 15_000);
}

function postgresCrash(ctx: ChaosContext, name: string, downMs: number): ScenarioPlan {
  const { events, publishPerS } = storeScenario(ctx);
  return {
    name,
    events,
    publishPerS,
    duplicates: "in-flight",
    async inject(run) {
      await run.untilPublished(Math.floor(events * 0.3));
      const inFlight = await crashPostgres(run);
      run.fault({ what: `PostgreSQL crashed (down ${downMs / 1_000} s)`, ...inFlight });
      await sleep(downMs);
      await ctx.stack.postgres.start();
      ctx.progress(`${name}: PostgreSQL is back`);
    },
  };
}

/**
 * Crashes PostgreSQL and counts what was in flight then: deliveries the
 * receiver had accepted that the database had not recorded just before, those
 * it accepted while the crash happened, and the requests still open at the
 * receiver. An upper bound: some of these may yet be recorded.
 */
async function crashPostgres(run: LiveRun) {
  const acceptedBefore = run.acceptances();
  const unrecordedBefore = await run.unrecorded();
  await run.ctx.stack.postgres.crash();
  const acceptedDuringCrash = run.acceptances() - acceptedBefore;
  const openAtCrash = run.box.open;
  return {
    inFlight: unrecordedBefore + acceptedDuringCrash + openAtCrash,
    detail: { unrecordedBefore, acceptedDuringCrash, openAtCrash },
  };
}
