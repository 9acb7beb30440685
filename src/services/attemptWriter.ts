import { type Batcher, createBatcher } from "../db/batcher.ts";
import { type Db, inTransaction, queryRows } from "../db/client.ts";
import { type Delivery, type DeliveryAttempt, Prisma } from "../db/generated/client.ts";

/**
 * Writes delivery attempts in batches: for many concurrent attempts, one
 * statement inserts every attempt row, updates every delivery
 * (`UPDATE … FROM (VALUES …)`) and restarts the failure count of every
 * endpoint that a (non-test) attempt reached, atomically. A caller's promise
 * resolves with its delivery as updated only once that statement has
 * committed, so a job never completes before its attempt is recorded: a crash
 * can at worst repeat a delivery, never lose one (see writeRound for a crash
 * of PostgreSQL itself).
 */

/** The delivery's new state after one attempt; `attempts` is incremented in SQL. */
export type DeliveryChange = Pick<
  Delivery,
  "status" | "retryStep" | "nextAttemptAt" | "trigger" | "lastResponseStatus" | "lastError"
> & {
  /** Set when the attempt succeeded; otherwise the delivery keeps its earlier value. */
  succeededAt: Date | null;
};

export type AttemptWrite = {
  attempt: DeliveryAttempt;
  change: DeliveryChange;
  /**
   * Applies the change only if the delivery still belongs to this replay (null:
   * to no replay), i.e. no replay claimed it during the attempt; otherwise only
   * the attempt row is written and the caller gets null. Null: unconditional.
   */
  claimedBy: { replayId: string | null } | null;
};

/** Attempts per statement. */
const MAX_BATCH = 200;
/**
 * How long the first attempt of a batch waits for others to join it. Each
 * statement costs PostgreSQL 0.5–1 ms on top of its rows: at about a thousand
 * deliveries a second in small publishes, 10 ms instead of 2 ms cut the
 * statements from 45–65 to 29–43 a second. The wait delays only the record
 * (and the slot's release), never the POST.
 */
const MAX_DELAY_MS = 10;

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
          ? [await writeRound((query) => queryRows<Delivery>(prisma, query), rounds[0]!)]
          : await inTransaction(prisma, async (tx) => {
              const written: Delivery[][] = [];
              for (const round of rounds)
                written.push(await writeRound((query) => tx.rows<Delivery>(query), round));
              return written;
            });
      const updated = new Map(results.flat().map((row) => [row.id, row]));
      return writes.map((w) => updated.get(w.attempt.deliveryId) ?? null);
    },
  });
}

/**
 * One statement for the whole round. The rows travel as one JSON parameter
 * (`json_to_recordset`): one native JSON.stringify instead of escaping every
 * value into a PostgreSQL array literal, which cost the worker a tenth of its
 * allocations. One row per attempt feeds both the INSERT and the UPDATE.
 * PostgreSQL takes `json_to_recordset` for 100 rows whatever it holds; the
 * LIMIT tells it the real count, so a small batch updates its deliveries by
 * primary key instead of hashing a scan of the whole table (a one-attempt
 * write cost PostgreSQL 1.9 ms of CPU that way, 1.1 ms now).
 *
 * Its transaction commits without waiting for the WAL to reach the disk
 * (`synchronous_commit` off for that transaction alone, set in the statement
 * so it costs no round trip). If PostgreSQL itself crashes in the next
 * fraction of a second, these attempts are lost and their deliveries are as
 * they were before them: a scheduled one is due, and is sent again (a
 * duplicate, never a loss); a manual or test attempt leaves no record,
 * though its request was made. The publishes, whose events exist nowhere
 * else, still wait for the disk, and now share it with half as many flushes:
 * publishEvents' p99 in the latency scenario was 12.8–16.6 ms against
 * 17.9–19.2 (three alternated pairs). Exported for its test.
 */
export function writeRound(run: (query: Prisma.Sql) => Promise<Delivery[]>, writes: AttemptWrite[]) {
  const rows = writes.map(({ attempt: a, change: c, claimedBy }) => ({
    id: a.id,
    workspace_id: a.workspaceId,
    delivery_id: a.deliveryId,
    event_id: a.eventId,
    endpoint_id: a.endpointId,
    number: a.number,
    trigger: a.trigger,
    url: a.url,
    request_headers: a.requestHeaders,
    response_status: a.responseStatus,
    response_headers: a.responseHeaders,
    response_body: a.responseBody,
    error: a.error,
    duration_ms: a.durationMs,
    succeeded: a.succeeded,
    started_at: a.startedAt,
    created_at: a.createdAt,
    status: c.status,
    retry_step: c.retryStep,
    next_attempt_at: c.nextAttemptAt,
    next_trigger: c.trigger,
    last_response_status: c.lastResponseStatus,
    last_error: c.lastError,
    succeeded_at: c.succeededAt,
    guarded: claimedBy !== null,
    claimed_by: claimedBy?.replayId ?? null,
  }));
  // Dates serialize as ISO text; cast to timestamp(3), PostgreSQL drops the `Z`,
  // which stores UTC as Prisma does, whatever the session time zone.
  return run(Prisma.sql`
    WITH v AS (
      SELECT * FROM json_to_recordset(${JSON.stringify(rows)}::json) AS v(id text, workspace_id text,
        delivery_id text, event_id text, endpoint_id text, number int, trigger text, url text,
        request_headers jsonb, response_status int, response_headers jsonb,
        response_body text, error text, duration_ms int, succeeded boolean, started_at text, created_at text,
        status text, retry_step int, next_attempt_at text, next_trigger text, last_response_status int,
        last_error text, succeeded_at text, guarded boolean, claimed_by text)
      LIMIT ${rows.length}
    ), unflushed AS (
      SELECT set_config('synchronous_commit', 'off', true)
    ), inserted AS (
      INSERT INTO "DeliveryAttempt" ("id", "workspaceId", "deliveryId", "eventId", "endpointId", "number",
        "trigger", "url", "requestHeaders", "responseStatus", "responseHeaders",
        "responseBody", "error", "durationMs", "succeeded", "startedAt", "createdAt")
      SELECT id, workspace_id, delivery_id, event_id, endpoint_id, number, trigger::"AttemptTrigger", url,
        request_headers, response_status, response_headers, response_body, error,
        duration_ms, succeeded, started_at::timestamp(3), created_at::timestamp(3)
      FROM v
    ), reset AS (
      UPDATE "Endpoint" AS e SET "consecutiveFailures" = 0
      WHERE e."id" IN (SELECT endpoint_id FROM v WHERE succeeded AND trigger <> 'TEST')
        AND e."consecutiveFailures" > 0
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
    FROM v, unflushed
    WHERE d."id" = v.delivery_id AND (NOT v.guarded OR d."replayId" IS NOT DISTINCT FROM v.claimed_by)
    RETURNING d.*`);
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

export type EndpointHealth = { consecutiveFailures: number; enabled: boolean; circuitOpenUntil: Date | null };

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
      const counted = await queryRows<EndpointHealth & { id: string }>(
        prisma,
        Prisma.sql`
        UPDATE "Endpoint" AS e SET
          "consecutiveFailures" = e."consecutiveFailures" + v.n,
          "updatedAt" = ${new Date()}::timestamp(3)
        FROM (VALUES ${Prisma.join(rows)}) AS v(id, n)
        WHERE e."id" = v.id
        RETURNING e."id", e."consecutiveFailures", e."enabled", e."circuitOpenUntil"`,
      );
      const byId = new Map(counted.map((row) => [row.id, row]));
      return endpointIds.map((id) => byId.get(id) ?? null);
    },
  });
}
