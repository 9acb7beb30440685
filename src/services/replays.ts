import { createHash } from "node:crypto";
import { type Delivery, Prisma, type Replay, type ReplayStatus } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { badInput, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { JOB } from "../jobs.ts";
import { observeReplayEnqueued, observeReplayFinished, observeReplayStarted } from "../metrics.ts";
import { findEndpoint } from "./endpoints.ts";
import { deliveryIdSql } from "./eventInserts.ts";
import { enqueueDeliveries } from "./events.ts";
import { catalogTypeOf, endpointAdmitsSql, receivingFiltersSql, unknownEventType } from "./eventTypes.ts";
import { checkNames } from "./inputBounds.ts";

/**
 * Replays: re-deliver every event of a time range (optionally one endpoint,
 * some event types, or only what FAILED) as a tracked background job.
 *
 * requestReplay stores a QUEUED Replay and enqueues a job on the replay queue;
 * runReplay (that job) walks the events in keyset batches, creates or resets
 * their deliveries (trigger REPLAY, replayId = the replay) with one set-based
 * statement per batch, enqueues them, then watches them until none is PENDING
 * or RETRYING. Every count or status change is published on "replay-progress".
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
  const names = checkNames(input.eventTypes, "eventTypes") ?? [];
  const unknown = names.find((name) => catalogTypeOf(name) === undefined);
  if (unknown !== undefined) throw badInput(unknownEventType(unknown), "eventTypes");
  const eventTypes = [...new Set(names.map((name) => catalogTypeOf(name) ?? name))].sort();
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
export async function requestReplay(
  deps: Deps,
  workspaceId: string,
  input: ReplayEventsInput,
): Promise<Replay> {
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
  const unfinished = await deps.prisma.replay.findMany({
    where: { status: { in: ACTIVE } },
    select: { id: true },
  });
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
  const cancelled = await deps.prisma.$transaction(
    async (tx) => {
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
    },
    // A big replay has many deliveries to cancel, behind a busy pool: more than Prisma's default 2 s / 5 s.
    { maxWait: 10_000, timeout: 60_000 },
  );
  if (cancelled) {
    replayEnded(deps, cancelled);
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
  if (replay) {
    replayEnded(deps, replay);
    publishProgress(deps, replay);
  }
}

/** A replay reached its final status: counted and logged. */
function replayEnded(deps: Deps, replay: Replay): void {
  observeReplayFinished(replay.status);
  const { id, workspaceId, status, enqueued, delivered, failed, error } = replay;
  deps.logger.info(
    { replayId: id, workspaceId, status, enqueued, delivered, failed, error },
    "replay finished",
  );
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
    observeReplayStarted();
    deps.logger.info(
      { replayId: id, workspaceId: started.workspaceId, since: started.since, until: started.until },
      "replay started",
    );
    publishProgress(deps, started);
    return started;
  }
  return deps.prisma.replay.findFirst({ where: { id, status: "RUNNING" } });
}

type Target = { id: string; eventTypes: string[]; streams: string[] };
type Cursor = { createdAt: Date; id: string };
/** Deliveries claimed from one batch of events, and where the walk goes on from. */
type Batch = {
  deliveryIds: string[];
  /** Of those, the ones that were RETRYING: they have a delayed job in the queue. */
  retrying: string[];
  next: Cursor;
};
type Step = Batch | "done" | "cancelled";

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
 * Walks the replay's events oldest first, one keyset batch at a time; each
 * batch is enqueued (Redis) while the next one is read and claimed
 * (PostgreSQL), so memory holds two batches whatever the range. Returns false
 * when the replay was cancelled on the way.
 */
async function walk(
  deps: Deps,
  replay: Replay,
  from: WalkPosition["after"],
  savePosition: (p: WalkPosition) => Promise<unknown>,
): Promise<boolean> {
  const targets = await targetsOf(deps, replay);
  const progress = progressReporter(deps, replay.id, savePosition);
  let claimed: Batch | null = null;
  let after = from ? { createdAt: new Date(from.createdAt), id: from.id } : null;
  for (;;) {
    const [step]: [Step, unknown] = await Promise.all([
      claimNextBatch(deps, replay, targets, after),
      claimed && progress(claimed),
    ]);
    if (step === "cancelled") return false;
    if (step === "done") return true;
    claimed = step;
    after = step.next;
  }
}

/**
 * One statement per batch: reads the next batch of events after `after`
 * (keyset, oldest first), pairs them with the targets that want them
 * (endpointAdmitsSql), resets the existing deliveries of those pairs for this
 * replay (only FAILED ones with onlyFailed), creates the missing ones (not
 * with onlyFailed), and adds them to the replay's total — only while the
 * replay is RUNNING ("cancelled" otherwise). It holds the replay row, so a
 * concurrent cancelReplay waits for it and then cancels this batch too.
 * Deliveries this replay already claimed are left alone, so a batch run twice
 * claims nothing twice. "done" past the last event.
 */
async function claimNextBatch(
  deps: Deps,
  replay: Replay,
  targets: Target[],
  after: Cursor | null,
): Promise<Step> {
  const now = new Date();
  const iso = (d: Date) => d.toISOString();
  // Starting at the cursor's time bounds the index scan, so each batch costs the same however far along.
  const from = iso(after?.createdAt ?? replay.since);
  const [row] = await deps.prisma.$queryRaw<
    { running: boolean; ids: string[]; retrying: string[]; lastAt: string | null; lastId: string | null }[]
  >`
    WITH live AS (
      SELECT id FROM "Replay" WHERE id = ${replay.id} AND status = 'RUNNING' FOR UPDATE
    ), batch AS (
      SELECT e.id, e.type, e.stream, e."createdAt" FROM "Event" e
      WHERE e."workspaceId" = ${replay.workspaceId} AND NOT e."isTest"
        AND e."createdAt" >= ${from}::timestamp(3) AND e."createdAt" < ${iso(replay.until)}::timestamp(3)
        AND (cardinality(${replay.eventTypes}::text[]) = 0 OR e.type = ANY(${replay.eventTypes}::text[]))
        AND (${after?.id ?? null}::text IS NULL OR e."createdAt" > ${from}::timestamp(3)
             OR e.id > ${after?.id ?? null}::text)
        AND EXISTS (SELECT 1 FROM live)
      ORDER BY e."createdAt", e.id
      LIMIT ${deps.config.replay.batchSize}
    ), pair AS (
      SELECT b.id AS "eventId", t.id AS "endpointId", b.type AS "eventType",
             ${deliveryIdSql(now, Prisma.sql`b.id`, Prisma.sql`t.id`)} AS "newId"
      FROM batch b
      JOIN ${receivingFiltersSql("r")} ON r.type = b.type
      JOIN json_to_recordset(${JSON.stringify(targets)}::json) AS t(id text, "eventTypes" text[], streams text[])
        ON ${endpointAdmitsSql("t", Prisma.sql`r.filters`, Prisma.sql`b.stream`)}
    ), previous AS (
      SELECT d.id, d.status FROM "Delivery" d JOIN pair USING ("eventId", "endpointId")
      WHERE d."replayId" IS DISTINCT FROM ${replay.id} AND (NOT ${replay.onlyFailed} OR d.status = 'FAILED')
    ), reset AS (
      UPDATE "Delivery" d
      SET status = 'PENDING', trigger = 'REPLAY', "retryStep" = 0, "nextAttemptAt" = ${now},
          "replayId" = ${replay.id}, "updatedAt" = ${now}
      FROM previous WHERE d.id = previous.id
      RETURNING d.id, previous.status = 'RETRYING' AS "wasRetrying"
    ), created AS (
      INSERT INTO "Delivery" (id, "workspaceId", "eventId", "endpointId", "eventType", status, trigger,
                              "nextAttemptAt", "replayId", "createdAt", "updatedAt")
      SELECT "newId", ${replay.workspaceId}, "eventId", "endpointId", "eventType", 'PENDING', 'REPLAY',
             ${now}, ${replay.id}, ${now}, ${now}
      FROM pair WHERE NOT ${replay.onlyFailed}
      ON CONFLICT ("eventId", "endpointId") DO NOTHING
      RETURNING id, false AS "wasRetrying"
    ), claimed AS (
      SELECT * FROM reset UNION ALL SELECT * FROM created
    ), counted AS (
      UPDATE "Replay" SET total = total + (SELECT count(*) FROM claimed) WHERE id IN (SELECT id FROM live)
    ), last AS (
      SELECT to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, id FROM batch
      ORDER BY "createdAt" DESC, id DESC LIMIT 1
    )
    SELECT EXISTS (SELECT 1 FROM live) AS running,
           (SELECT coalesce(array_agg(id), '{}') FROM claimed) AS ids,
           (SELECT coalesce(array_agg(id) FILTER (WHERE "wasRetrying"), '{}') FROM claimed) AS retrying,
           (SELECT at FROM last) AS "lastAt", (SELECT id FROM last) AS "lastId"`;
  if (!row?.running) return "cancelled";
  if (row.lastId === null || row.lastAt === null) return "done";
  return {
    deliveryIds: row.ids,
    retrying: row.retrying,
    next: { createdAt: new Date(row.lastAt), id: row.lastId },
  };
}

/**
 * Enqueues a claimed batch to be sent now, then counts it and saves the walk's
 * position. A delivery that was RETRYING still has its delayed job under the
 * same id (addBulk would keep it, delay and all), so that job is removed
 * first; one being sent at this moment cannot be, and is sent anyway.
 * delivered/failed are recounted at most every RECOUNT_INTERVAL_MS.
 */
function progressReporter(
  deps: Deps,
  replayId: string,
  savePosition: (p: WalkPosition) => Promise<unknown>,
): (batch: Batch) => Promise<void> {
  let recountedAt = Date.now();
  return async (batch) => {
    // The count only reads (PostgreSQL), so it runs while the batch is enqueued (Redis).
    const recount = Date.now() - recountedAt >= RECOUNT_INTERVAL_MS;
    if (recount) recountedAt = Date.now();
    const [outcomes] = await Promise.all([
      recount ? outcomeCounts(deps.prisma, replayId) : null,
      (async () => {
        await Promise.all(batch.retrying.map((id) => deps.queues.delivery.remove(id)));
        await enqueueDeliveries(deps, batch.deliveryIds);
        observeReplayEnqueued(batch.deliveryIds.length);
      })(),
    ]);
    const row = await deps.prisma.replay.update({
      where: { id: replayId },
      data: {
        enqueued: { increment: batch.deliveryIds.length },
        ...(outcomes && { delivered: outcomes.delivered, failed: outcomes.failed }),
      },
    });
    publishProgress(deps, row);
    await savePosition({
      after: { createdAt: batch.next.createdAt.toISOString(), id: batch.next.id },
      walked: false,
    });
  };
}

/** delivered / failed / still unfinished deliveries of a replay: one scan of the (replayId, status) index. */
async function outcomeCounts(db: Pick<Deps["prisma"], "delivery">, replayId: string) {
  const groups = await db.delivery.groupBy({ by: ["status"], where: { replayId }, _count: { _all: true } });
  const count = (statuses: Delivery["status"][]) =>
    groups.filter((g) => statuses.includes(g.status)).reduce((n, g) => n + g._count._all, 0);
  return {
    delivered: count(["SUCCEEDED"]),
    failed: count(["FAILED"]),
    unfinished: count(UNFINISHED_DELIVERY),
  };
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
  if (done) replayEnded(deps, updated);
  publishProgress(deps, updated);
  return done ? "finished" : "waiting";
}
