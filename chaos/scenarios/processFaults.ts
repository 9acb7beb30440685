import type { ChaosContext, ScenarioPlan } from "../scenario.ts";

const KILLS = 4;

/** kill -9 the worker KILLS times, evenly through the deliveries, starting a new one after each. */
export function kill(ctx: ChaosContext): ScenarioPlan {
  const events = ctx.quick ? 1_000 : 10_000;
  return {
    name: "kill",
    events,
    publishPerS: ctx.quick ? 250 : 500,
    duplicates: "in-flight",
    async inject(run) {
      for (let k = 1; k <= KILLS; k++) {
        await run.untilAccepted(Math.floor((events * k) / (KILLS + 1)));
        const openAtReceiver = run.box.open;
        await ctx.stack.killWorker();
        // Nothing records anything now: what the receiver accepted and the database lacks is exactly what was in flight.
        const inFlight = await run.unrecorded();
        run.fault({ what: `kill -9 worker (${k}/${KILLS})`, inFlight, detail: { openAtReceiver } });
        await ctx.stack.startWorker();
      }
    },
  };
}

/**
 * SIGTERM the worker mid-delivery: what it has in flight finishes (no request
 * is abandoned) and is recorded; a new worker takes the rest.
 */
export function sigterm(ctx: ChaosContext): ScenarioPlan {
  const events = ctx.quick ? 300 : 3_000;
  let unrecordedAfterExit = 0;
  let abandonedInStop = 0;
  return {
    name: "sigterm",
    events,
    publishPerS: ctx.quick ? 150 : 300,
    // Answers take 300 ms, so the signal surely finds requests in flight.
    respond: () => "slow",
    duplicates: "none",
    async inject(run) {
      await run.untilAccepted(Math.floor(events * 0.4));
      const openAtSignal = run.box.open;
      const abandonedBefore = run.box.abandoned;
      const exitMs = await ctx.stack.terminateWorker();
      abandonedInStop = run.box.abandoned - abandonedBefore;
      unrecordedAfterExit = await run.unrecorded();
      const detail = { openAtSignal, exitMs, abandonedInStop, unrecordedAfterExit };
      run.fault({ what: "SIGTERM worker", detail });
      await ctx.stack.startWorker();
    },
    async check() {
      return [
        abandonedInStop > 0 && `${abandonedInStop} requests in flight were abandoned by the stopping worker`,
        unrecordedAfterExit > 0 &&
          `${unrecordedAfterExit} deliveries accepted by the receiver were not recorded when the worker had stopped`,
      ].filter((f): f is string => typeof f === "string");
    },
  };
}
