import { createHash } from "node:crypto";
import type { Delivery, Prisma, Replay, ReplayStatus } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { badInput, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { JOB } from "../queue/queues.ts";
import { findEndpoint } from "./endpoints.ts";
import { enqueueDeliveries } from "./events.ts";
import { eventTypeMatches, isKnownEventType, streamMatches } from "./eventTypes.ts";

/**
 * Replays: re-deliver every event of a time range (optionally one endpoint,
 * some event types, or only what FAILED) as a tracked background job.
 *
 * requestReplay stores a QUEUED Replay and enqueues a job on the replay queue;
 * runReplay (that job) walks the events in keyset batches, creates or resets
 * the deliveries (trigger REPLAY, replayId = the replay) with a few set-based
 * queries per batch, enqueues them, then watches them until none is PENDING or
 * RETRYING. Every count or status change is published on "replay-progress".
 */

export type ReplayEventsInput = {
  since: Date;
  until: Date;
  endpointId?: string | null;
  eventTypes?: readonly string[] | null;
  onlyFailed?: boolean | null;
};

/** Where a replay's walk stands; kept with its job so a retried or re-run job resumes there. */
export type WalkPosition = { after: { createdAt: string; id: string } | null; walked: boolean };
export const WALK_START: WalkPosition = { after: null, walked: false };

const DAY_MS = 86_400_000;
const ACTIVE: ReplayStatus[] = ["QUEUED", "RUNNING"];
const UNFINISHED_DELIVERY: Delivery["status"][] = ["PENDING", "RETRYING"];
/** delivered/failed are recounted at most this often while the walk runs (a count costs O(replay size)). */
const RECOUNT_INTERVAL_MS = 1_000;

type Filters = {
  since: Date;
  until: Date;
  endpointId: string | null;
  eventTypes: string[];
  onlyFailed: boolean;
};

function checkFilters(deps: Deps, input: ReplayEventsInput): Filters {
  if (input.since >= input.until) throw badInput("since must be before until", "until");
  const maxDays = deps.config.replay.maxSpanDays;
  if (input.until.getTime() - input.since.getTime() > maxDays * DAY_MS)
    throw badInput(`a replay covers at most ${maxDays} days; split the range`, "until");
  const eventTypes = [...new Set(input.eventTypes ?? [])].sort();
  const unknown = eventTypes.find((t) => !isKnownEventType(t));
  if (unknown) throw badInput(`unknown event type "${unknown}"; the eventTypes query lists them`, "eventTypes");
  return {
    since: input.since,
    until: input.until,
    endpointId: input.endpointId ?? null,
    eventTypes,
    onlyFailed: input.onlyFailed ?? false,
  };
}

/** Same filters, same key: what makes a second identical request find the first. */
function filterKeyOf(f: Filters): string {
  const normalized = [f.since.toISOString(), f.until.toISOString(), f.endpointId, f.eventTypes, f.onlyFailed];
  return createHash("sha256").update(JSON.stringify(normalized)).digest("hex");
}

/**
 * Starts a replay and returns it at once (QUEUED). While one with the same
 * filters is QUEUED or RUNNING, returns that one instead of doubling the work.
 */
export async function requestReplay(deps: Deps, workspaceId: string, input: ReplayEventsInput): Promise<Replay> {
  const filters = checkFilters(deps, input);
  if (filters.endpointId) await findEndpoint(deps, workspaceId, filters.endpointId);
  const filterKey = filterKeyOf(filters);
  const { replay, created } = await deps.prisma.$transaction(async (tx) => {
    // Serializes identical requests, so two arriving together cannot both start one.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${workspaceId}:${filterKey}`}, 0))`;
    const running = await tx.replay.findFirst({
      where: { workspaceId, filterKey, status: { in: ACTIVE } },
      orderBy: { createdAt: "desc" },
    });
    if (running) return { replay: running, created: false };
    const data = { id: newId("replay"), workspaceId, filterKey, ...filters };
    return { replay: await tx.replay.create({ data }), created: true };
  });
  if (created) await offerReplayJobs(deps, [replay.id]);
  return replay;
}

/**
 * Puts replay jobs on the queue (job id = replay id, so one that is already
 * queued, running or waiting is not duplicated). On a Redis failure it only
 * logs: resumeReplays offers every unfinished replay again later.
 */
async function offerReplayJobs(deps: Deps, replayIds: readonly string[]): Promise<void> {
  if (replayIds.length === 0) return;
  try {
    await deps.queues.replay.addBulk(
      replayIds.map((replayId) => ({ name: JOB.runReplay, data: { replayId }, opts: { jobId: replayId } })),
    );
  } catch (err) {
    deps.logger.warn({ err, replayIds }, "could not enqueue replay jobs; they will be offered again");
  }
}

/** Offers the jobs of every QUEUED or RUNNING replay again: Redis may have lost them (flush, failover). */
export async function resumeReplays(deps: Deps): Promise<void> {
  const unfinished = await deps.prisma.replay.findMany({ where: { status: { in: ACTIVE } }, select: { id: true } });
  await offerReplayJobs(
    deps,
    unfinished.map((r) => r.id),
  );
}

export async function findReplay(deps: Deps, workspaceId: string, id: string): Promise<Replay | null> {
  return deps.prisma.replay.findFirst({ where: { id, workspaceId } });
}

/**
 * Stops a QUEUED or RUNNING replay: the walk enqueues nothing more, and its
 * deliveries not yet sent (PENDING, or RETRYING) become CANCELLED, which the
 * delivery pipeline skips. A finished replay is returned unchanged.
 */
export async function cancelReplay(deps: Deps, workspaceId: string, id: string): Promise<Replay> {
  const cancelled = await deps.prisma.$transaction(async (tx) => {
    // Waits for a batch being claimed (it holds this row), so the update below also catches that batch.
    const [replay] = await tx.replay.updateManyAndReturn({
      where: { id, workspaceId, status: { in: ACTIVE } },
      data: { status: "CANCELLED", finishedAt: new Date() },
    });
    if (!replay) return null;
    await tx.delivery.updateMany({
      where: { replayId: id, status: { in: UNFINISHED_DELIVERY } },
      data: { status: "CANCELLED", nextAttemptAt: null },
    });
    const { delivered, failed } = await outcomeCounts(tx, id);
    return tx.replay.update({ where: { id }, data: { delivered, failed } });
  });
  if (cancelled) {
    publishProgress(deps, cancelled);
    return cancelled;
  }
  const replay = await findReplay(deps, workspaceId, id);
  if (!replay) throw notFound("replay", id);
  return replay;
}

/** Marks an unfinished replay FAILED (its job gave up) and says so live. */
export async function failReplay(deps: Deps, id: string, error: string): Promise<void> {
  const [replay] = await deps.prisma.replay.updateManyAndReturn({
    where: { id, status: { in: ACTIVE } },
    data: { status: "FAILED", error, finishedAt: new Date() },
  });
  if (replay) publishProgress(deps, replay);
}

function publishProgress(deps: Deps, replay: Replay): void {
  deps.pubsub.publish("replay-progress", replay.id, replay);
}

/**
 * One run of a replay's job. Walks from `position` (saving it after every
 * batch), then checks on the deliveries. "waiting": some are still on their
 * way, run again later. "finished": completed, cancelled, or gone.
 */
export async function runReplay(
  deps: Deps,
  replayId: string,
  position: WalkPosition,
  savePosition: (p: WalkPosition) => Promise<unknown>,
): Promise<"waiting" | "finished"> {
  const replay = await markRunning(deps, replayId);
  if (!replay) return "finished";
  if (!position.walked) {
    const walked = await walk(deps, replay, position.after, savePosition);
    if (!walked) return "finished";
    await savePosition({ after: null, walked: true });
  }
  return settle(deps, replayId);
}

/** QUEUED → RUNNING; the replay if it is RUNNING now, null if it is finished or gone. */
async function markRunning(deps: Deps, id: string): Promise<Replay | null> {
  const [started] = await deps.prisma.replay.updateManyAndReturn({
    where: { id, status: "QUEUED" },
    data: { status: "RUNNING", startedAt: new Date() },
  });
  if (started) {
    publishProgress(deps, started);
    return started;
  }
  return deps.prisma.replay.findFirst({ where: { id, status: "RUNNING" } });
}

type Target = { id: string; eventTypes: string[]; streams: string[] };
type BatchEvent = { id: string; type: string; stream: string | null; createdAt: Date };

/** Named endpoint: that one, even if disabled. Otherwise every enabled endpoint of the workspace. */
function targetsOf(deps: Deps, replay: Replay): Promise<Target[]> {
  return deps.prisma.endpoint.findMany({
    where: replay.endpointId
      ? { id: replay.endpointId, workspaceId: replay.workspaceId }
      : { workspaceId: replay.workspaceId, enabled: true },
    select: { id: true, eventTypes: true, streams: true },
  });
}

/**
 * Walks the replay's events oldest first, one keyset batch at a time, so
 * memory holds one batch whatever the range. Returns false when the replay
 * was cancelled on the way.
 */
async function walk(
  deps: Deps,
  replay: Replay,
  from: WalkPosition["after"],
  savePosition: (p: WalkPosition) => Promise<unknown>,
): Promise<boolean> {
  const targets = await targetsOf(deps, replay);
  const batchSize = deps.config.replay.batchSize;
  let after = from ? { createdAt: new Date(from.createdAt), id: from.id } : null;
  let recountedAt = Date.now();
  for (;;) {
    const T0 = performance.now();
    const events: BatchEvent[] = await deps.prisma.event.findMany({
      where: {
        AND: [
          {
            workspaceId: replay.workspaceId,
            isTest: false,
            // Starting at the cursor's time bounds the index scan, so each batch costs the same however far along.
            createdAt: { gte: after?.createdAt ?? replay.since, lt: replay.until },
          },
          replay.eventTypes.length ? { type: { in: replay.eventTypes } } : {},
          after
            ? {
                OR: [
                  { createdAt: { gt: after.createdAt } },
                  { createdAt: after.createdAt, id: { gt: after.id } },
                ],
              }
            : {},
        ],
      },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: batchSize,
      select: { id: true, type: true, stream: true, createdAt: true },
    });
    const T1 = performance.now();
    if (events.length === 0) return true;
    const claimed = await claimBatch(deps, replay, targets, events);
    const T2 = performance.now();
    if (!claimed) return false;
    await sendNow(deps, claimed);
    const T3 = performance.now();
    (globalThis as any).__t ??= [0,0,0,0,0]; const tt=(globalThis as any).__t; tt[0]+=T1-T0; tt[1]+=T2-T1; tt[2]+=T3-T2;
    let outcomes = {};
    if (Date.now() - recountedAt >= RECOUNT_INTERVAL_MS) {
      const { delivered, failed } = await outcomeCounts(deps.prisma, replay.id);
      outcomes = { delivered, failed };
      recountedAt = Date.now();
    }
    const row = await deps.prisma.replay.update({
      where: { id: replay.id },
      data: { enqueued: { increment: claimed.deliveryIds.length }, ...outcomes },
    });
    publishProgress(deps, row);
    const last = events[events.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
    const T4 = performance.now();
    await savePosition({ after: { createdAt: after.createdAt.toISOString(), id: after.id }, walked: false });
    tt[3]+=T4-T3; tt[4]+=performance.now()-T4; console.log("TIMING", tt.map((x: number)=>Math.round(x)).join(" "), JSON.stringify(process.memoryUsage()));
    if (events.length < batchSize) return true;
  }
}

type Claimed = { deliveryIds: string[]; /** Of those, the ones with a delayed retry job in the queue. */ retrying: string[] };

/**
 * In one transaction: creates the missing deliveries of a batch and resets
 * the existing ones for this replay, and adds them to the replay's total.
 * Returns null if the replay is no longer RUNNING. Deliveries this replay
 * already claimed are left alone, so a re-run batch claims nothing twice.
 */
function claimBatch(
  deps: Deps,
  replay: Replay,
  targets: Target[],
  events: BatchEvent[],
): Promise<Claimed | null> {
  return deps.prisma.$transaction(
    async (tx) => {
      // Holds the replay row: a concurrent cancelReplay waits for this batch, then cancels it too.
      const [row] = await tx.$queryRaw<{ status: ReplayStatus }[]>`
        SELECT status FROM "Replay" WHERE id = ${replay.id} FOR UPDATE`;
      if (row?.status !== "RUNNING") return null;
      const wanted = new Set<string>();
      for (const event of events)
        for (const target of targets)
          if (eventTypeMatches(target.eventTypes, event.type) && streamMatches(target.streams, event.stream))
            wanted.add(pairKey(event.id, target.id));
      if (wanted.size === 0) return { deliveryIds: [], retrying: [] };

      const existing = await tx.delivery.findMany({
        where: { eventId: { in: events.map((e) => e.id) }, endpointId: { in: targets.map((t) => t.id) } },
        select: { id: true, eventId: true, endpointId: true, status: true, replayId: true },
      });
      const existingKeys = new Set(existing.map((d) => pairKey(d.eventId, d.endpointId)));
      const toReset = existing.filter(
        (d) =>
          wanted.has(pairKey(d.eventId, d.endpointId)) &&
          d.replayId !== replay.id &&
          (!replay.onlyFailed || d.status === "FAILED"),
      );
      const now = new Date();
      const fresh = { status: "PENDING", trigger: "REPLAY", nextAttemptAt: now, replayId: replay.id } as const;
      const reset = toReset.length
        ? await tx.delivery.updateManyAndReturn({
            where: { id: { in: toReset.map((d) => d.id) }, ...(replay.onlyFailed ? { status: "FAILED" } : {}) },
            data: { ...fresh, retryStep: 0 },
            select: { id: true },
          })
        : [];
      const toCreate: Prisma.DeliveryCreateManyInput[] = replay.onlyFailed
        ? []
        : events.flatMap((event) =>
            targets
              .filter((t) => wanted.has(pairKey(event.id, t.id)) && !existingKeys.has(pairKey(event.id, t.id)))
              .map((t) => ({
                ...fresh,
                id: newId("delivery", now.getTime()),
                workspaceId: replay.workspaceId,
                eventId: event.id,
                endpointId: t.id,
                eventType: event.type,
                createdAt: now,
              })),
          );
      const created = toCreate.length
        ? await tx.delivery.createManyAndReturn({ data: toCreate, skipDuplicates: true, select: { id: true } })
        : [];
      const deliveryIds = [...reset, ...created].map((d) => d.id);
      if (deliveryIds.length > 0)
        await tx.replay.update({ where: { id: replay.id }, data: { total: { increment: deliveryIds.length } } });
      const wasRetrying = new Set(toReset.filter((d) => d.status === "RETRYING").map((d) => d.id));
      return { deliveryIds, retrying: reset.map((d) => d.id).filter((id) => wasRetrying.has(id)) };
    },
    { timeout: 60_000 },
  );
}

const pairKey = (eventId: string, endpointId: string) => `${eventId} ${endpointId}`;

/**
 * Enqueues claimed deliveries to go now. A delivery that was RETRYING still
 * has its delayed job under the same id (addBulk would keep that one and its
 * delay), so that job is removed first. One being sent right now cannot be
 * removed; it is sent anyway.
 */
async function sendNow(deps: Deps, claimed: Claimed): Promise<void> {
  await Promise.all(claimed.retrying.map((id) => deps.queues.delivery.remove(id)));
  await enqueueDeliveries(deps, claimed.deliveryIds);
}

/** delivered / failed / still unfinished deliveries of a replay: one scan of the (replayId, status) index. */
async function outcomeCounts(db: Pick<Deps["prisma"], "delivery">, replayId: string) {
  const groups = await db.delivery.groupBy({ by: ["status"], where: { replayId }, _count: { _all: true } });
  const count = (statuses: Delivery["status"][]) =>
    groups.filter((g) => statuses.includes(g.status)).reduce((n, g) => n + g._count._all, 0);
  return { delivered: count(["SUCCEEDED"]), failed: count(["FAILED"]), unfinished: count(UNFINISHED_DELIVERY) };
}

/**
 * Brings delivered/failed up to date, and completes the replay once none of
 * its deliveries is PENDING or RETRYING.
 */
async function settle(deps: Deps, id: string): Promise<"waiting" | "finished"> {
  const replay = await deps.prisma.replay.findUnique({ where: { id } });
  if (replay?.status !== "RUNNING") return "finished";
  const { delivered, failed, unfinished } = await outcomeCounts(deps.prisma, id);
  const done = unfinished === 0;
  if (!done && delivered === replay.delivered && failed === replay.failed) return "waiting";
  const [updated] = await deps.prisma.replay.updateManyAndReturn({
    where: { id, status: "RUNNING" },
    data: { delivered, failed, ...(done ? { status: "COMPLETED", finishedAt: new Date() } : {}) },
  });
  if (!updated) return "finished";
  publishProgress(deps, updated);
  return done ? "finished" : "waiting";
}
