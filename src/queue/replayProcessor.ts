import { DelayedError, type Processor } from "bullmq";
import type { Deps } from "../deps.ts";
import { JOB, type JobPayloads } from "../jobs.ts";
import { probeCircuit } from "../services/circuit.ts";
import { failReplay, resumeReplays, runReplay, WALK_START, type WalkPosition } from "../services/replays.ts";
import { pruneExpired } from "../services/retention.ts";

/** How often a replay whose walk is done checks whether its deliveries have all finished. */
const SETTLE_INTERVAL_MS = 1_000;
const PRUNE_SCHEDULER_ID = "prune";

/**
 * Runs a replay. The walk's position is saved as the job's progress, so a
 * retried job resumes where it stopped; once everything is enqueued the job
 * waits for the deliveries as a delayed job (like a retry), holding no worker.
 * When the last attempt fails, the replay is marked FAILED.
 */
export function replayProcessor(deps: Deps): Processor<JobPayloads["replay"]> {
  return async (job, token) => {
    const { replayId } = job.data;
    try {
      const position =
        typeof job.progress === "object" && job.progress !== null
          ? (job.progress as WalkPosition)
          : WALK_START;
      const outcome = await runReplay(deps, replayId, position, (p) => job.updateProgress(p));
      if (outcome === "waiting") {
        await job.moveToDelayed(Date.now() + SETTLE_INTERVAL_MS, token);
        throw new DelayedError();
      }
    } catch (err) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!(err instanceof DelayedError) && lastAttempt)
        await failReplay(deps, replayId, (err as Error).message);
      throw err;
    }
  };
}

export function maintenanceProcessor(deps: Deps): Processor<JobPayloads["maintenance"]> {
  return async (job) => {
    if (job.name === JOB.probeEndpoint && job.data.endpointId) {
      await probeCircuit(deps, job.data.endpointId);
    } else if (job.name === JOB.prune) {
      const pruned = await pruneExpired(deps);
      if (pruned.attempts + pruned.events > 0) deps.logger.info(pruned, "retention pruned old rows");
    }
  };
}

/**
 * Puts back what lives only in Redis and would vanish with it (a flush, a
 * failover): the retention scheduler and the jobs of unfinished replays. Run
 * from the sweeper's tick.
 */
export async function restoreBackgroundJobs(deps: Deps): Promise<void> {
  const { days, intervalMs } = deps.config.retention;
  const maintenance = deps.queues.maintenance;
  // Upserting only when missing or changed, so a tick never pushes back the next run.
  if (days > 0 && (await maintenance.getJobScheduler(PRUNE_SCHEDULER_ID))?.every !== intervalMs) {
    await maintenance.upsertJobScheduler(
      PRUNE_SCHEDULER_ID,
      { every: intervalMs },
      { name: JOB.prune, data: {} },
    );
  }
  await resumeReplays(deps);
}
