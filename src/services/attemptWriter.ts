import { type Batcher, createBatcher } from "../db/batcher.ts";
import type { Db } from "../db/client.ts";
import { type Delivery, type DeliveryAttempt, Prisma } from "../db/generated/client.ts";

/**
 * Writes delivery attempts in batches: for many concurrent attempts, one
 * statement inserts every attempt row and updates every delivery
 * (`UPDATE … FROM (VALUES …)`), atomically. A caller's promise resolves with
 * its delivery as updated only once that statement has committed, so a job
 * never completes before its attempt is recorded: a crash can at worst repeat
 * a delivery, never lose one or forget that it succeeded.
 */

/** The delivery's new state after one attempt; `attempts` is incremented in SQL. */
export type DeliveryChange = Pick<
  Delivery,
  "status" | "retryStep" | "nextAttemptAt" | "trigger" | "lastResponseStatus" | "lastError"
> & {
  /** Set when the attempt succeeded; otherwise the delivery keeps its earlier value. */
  succeededAt: Date | null;
};

export type AttemptWrite = { attempt: DeliveryAttempt; change: DeliveryChange };

/** Attempts per statement. */
const MAX_BATCH = 200;
/** How long the first attempt of a batch waits for others to join it. */
const MAX_DELAY_MS = 2;

export function createAttemptWriter(prisma: Db): Batcher<AttemptWrite, Delivery | null> {
  return createBatcher({
    maxBatch: MAX_BATCH,
    maxDelayMs: MAX_DELAY_MS,
    async runBatch(writes) {
      // UPDATE … FROM applies one VALUES row per delivery, so a delivery's second attempt
      // goes in a second statement, in the same transaction.
      const rounds = distinctRounds(writes, (w) => w.attempt.deliveryId);
      const results =
        rounds.length === 1
          ? [await writeRound(prisma, rounds[0]!)]
          : await prisma.$transaction(rounds.map((round) => writeRound(prisma, round)));
      const updated = new Map(results.flat().map((row) => [row.id, row]));
      return writes.map((w) => updated.get(w.attempt.deliveryId) ?? null);
    },
  });
}

/**
 * One statement for the whole round. Each column travels as one array
 * parameter (`unnest`), so the statement has the same 25 parameters whatever
 * the number of rows, and one row per attempt feeds both the INSERT and the
 * UPDATE.
 */
function writeRound(prisma: Db, writes: AttemptWrite[]) {
  const column = <T>(value: (write: AttemptWrite) => T) => writes.map(value);
  const attempt = <T>(value: (a: DeliveryAttempt) => T) => column((w) => value(w.attempt));
  const change = <T>(value: (c: DeliveryChange) => T) => column((w) => value(w.change));
  return prisma.$queryRaw<Delivery[]>`
    WITH v AS (
      SELECT * FROM unnest(
        ${attempt((a) => a.id)}::text[], ${attempt((a) => a.workspaceId)}::text[],
        ${attempt((a) => a.deliveryId)}::text[], ${attempt((a) => a.eventId)}::text[],
        ${attempt((a) => a.endpointId)}::text[], ${attempt((a) => a.number)}::int[],
        ${attempt((a) => a.trigger)}::text[], ${attempt((a) => a.url)}::text[],
        ${attempt((a) => json(a.requestHeaders))}::text[], ${attempt((a) => a.requestBody)}::text[],
        ${attempt((a) => a.responseStatus)}::int[], ${attempt((a) => json(a.responseHeaders))}::text[],
        ${attempt((a) => a.responseBody)}::text[], ${attempt((a) => a.error)}::text[],
        ${attempt((a) => a.durationMs)}::int[], ${attempt((a) => a.succeeded)}::boolean[],
        ${attempt((a) => timestamp(a.startedAt))}::text[], ${attempt((a) => timestamp(a.createdAt))}::text[],
        ${change((c) => c.status)}::text[], ${change((c) => c.retryStep)}::int[],
        ${change((c) => timestamp(c.nextAttemptAt))}::text[], ${change((c) => c.trigger)}::text[],
        ${change((c) => c.lastResponseStatus)}::int[], ${change((c) => c.lastError)}::text[],
        ${change((c) => timestamp(c.succeededAt))}::text[]
      ) AS v(id, workspace_id, delivery_id, event_id, endpoint_id, number, trigger, url, request_headers,
        request_body, response_status, response_headers, response_body, error, duration_ms, succeeded,
        started_at, created_at, status, retry_step, next_attempt_at, next_trigger, last_response_status,
        last_error, succeeded_at)
    ), inserted AS (
      INSERT INTO "DeliveryAttempt" ("id", "workspaceId", "deliveryId", "eventId", "endpointId", "number",
        "trigger", "url", "requestHeaders", "requestBody", "responseStatus", "responseHeaders",
        "responseBody", "error", "durationMs", "succeeded", "startedAt", "createdAt")
      SELECT id, workspace_id, delivery_id, event_id, endpoint_id, number, trigger::"AttemptTrigger", url,
        request_headers::jsonb, request_body, response_status, response_headers::jsonb, response_body, error,
        duration_ms, succeeded, started_at::timestamp(3), created_at::timestamp(3)
      FROM v
    )
    UPDATE "Delivery" AS d SET
      "status" = v.status::"DeliveryStatus",
      "retryStep" = v.retry_step,
      "nextAttemptAt" = v.next_attempt_at::timestamp(3),
      "trigger" = v.next_trigger::"AttemptTrigger",
      "attempts" = d."attempts" + 1,
      "lastAttemptAt" = v.created_at::timestamp(3),
      "lastResponseStatus" = v.last_response_status,
      "lastError" = v.last_error,
      "succeededAt" = COALESCE(v.succeeded_at::timestamp(3), d."succeededAt"),
      "updatedAt" = v.created_at::timestamp(3)
    FROM v
    WHERE d."id" = v.delivery_id
    RETURNING d.*`;
}

/**
 * Splits items into rounds in which no key repeats, keeping their order:
 * the n-th item of a key goes into round n.
 */
export function distinctRounds<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const rounds: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    const round = rounds[n] ?? [];
    round.push(item);
    rounds[n] = round;
  }
  return rounds;
}

/**
 * Timestamps go over as ISO text cast to `timestamp(3)`: PostgreSQL drops the
 * `Z`, which stores UTC as Prisma does, whatever the session time zone.
 */
function timestamp(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** SQL NULL for null (as Prisma writes an absent Json? field), JSON text otherwise. */
function json(value: Prisma.JsonValue | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

export type EndpointHealth = { consecutiveFailures: number; enabled: boolean };

/**
 * Counts failed attempts on their endpoints in batches: one UPDATE per batch
 * adds each endpoint's failures at once, instead of every failing attempt
 * queueing for the lock on the same endpoint row. Each caller gets its
 * endpoint's count after the batch (null: the endpoint was deleted).
 */
export function createFailureCounter(prisma: Db): Batcher<string, EndpointHealth | null> {
  return createBatcher({
    maxBatch: MAX_BATCH,
    maxDelayMs: MAX_DELAY_MS,
    async runBatch(endpointIds) {
      const failures = new Map<string, number>();
      for (const id of endpointIds) failures.set(id, (failures.get(id) ?? 0) + 1);
      const rows = [...failures].map(([id, n]) => Prisma.sql`(${id}, ${n}::int)`);
      const counted = await prisma.$queryRaw<(EndpointHealth & { id: string })[]>`
        UPDATE "Endpoint" AS e SET
          "consecutiveFailures" = e."consecutiveFailures" + v.n,
          "updatedAt" = ${timestamp(new Date())}::timestamp(3)
        FROM (VALUES ${Prisma.join(rows)}) AS v(id, n)
        WHERE e."id" = v.id
        RETURNING e."id", e."consecutiveFailures", e."enabled"`;
      const byId = new Map(counted.map((row) => [row.id, row]));
      return endpointIds.map((id) => byId.get(id) ?? null);
    },
  });
}
