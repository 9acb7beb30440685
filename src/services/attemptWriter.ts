import { type Batcher, createBatcher } from "../db/batcher.ts";
import { type Db, inTransaction, queryRows } from "../db/client.ts";
import { type Delivery, type DeliveryAttempt, Prisma } from "../db/generated/client.ts";

/**
 * Writes delivery attempts in batches: for many concurrent attempts, one
 * statement inserts every attempt row, updates every delivery
 * (`UPDATE … FROM` the rows) and restarts the failure count of every
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
      // UPDATE … FROM applies one row per delivery, so a delivery's second attempt
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

/** A column of the rows a round sends: its name in the statement, its type, and its value for one write. */
type Column = readonly [
  name: string,
  type: "text" | "int" | "boolean" | "jsonb" | "timestamp",
  value: (w: AttemptWrite) => unknown,
];

/**
 * A time as milliseconds since the epoch. A Date in JSON.stringify's way
 * (its toJSON) takes it off its fast path: the rows of 140 attempts took
 * 2.9 µs an attempt to serialize with their dates, 1.0 with numbers.
 */
const epochMs = (date: Date | null) => (date === null ? null : date.getTime());

/** Each write travels as one JSON array of these values, in this order. */
const COLUMNS: readonly Column[] = [
  ["id", "text", (w) => w.attempt.id],
  ["workspace_id", "text", (w) => w.attempt.workspaceId],
  ["delivery_id", "text", (w) => w.attempt.deliveryId],
  ["event_id", "text", (w) => w.attempt.eventId],
  ["endpoint_id", "text", (w) => w.attempt.endpointId],
  ["number", "int", (w) => w.attempt.number],
  ["trigger", "text", (w) => w.attempt.trigger],
  ["url", "text", (w) => w.attempt.url],
  ["request_headers", "jsonb", (w) => w.attempt.requestHeaders],
  ["response_status", "int", (w) => w.attempt.responseStatus],
  ["response_headers", "jsonb", (w) => w.attempt.responseHeaders],
  ["response_body", "text", (w) => w.attempt.responseBody],
  ["error", "text", (w) => w.attempt.error],
  ["duration_ms", "int", (w) => w.attempt.durationMs],
  ["succeeded", "boolean", (w) => w.attempt.succeeded],
  ["started_at", "timestamp", (w) => epochMs(w.attempt.startedAt)],
  ["created_at", "timestamp", (w) => epochMs(w.attempt.createdAt)],
  ["status", "text", (w) => w.change.status],
  ["retry_step", "int", (w) => w.change.retryStep],
  ["next_attempt_at", "timestamp", (w) => epochMs(w.change.nextAttemptAt)],
  ["next_trigger", "text", (w) => w.change.trigger],
  ["last_response_status", "int", (w) => w.change.lastResponseStatus],
  ["last_error", "text", (w) => w.change.lastError],
  ["succeeded_at", "timestamp", (w) => epochMs(w.change.succeededAt)],
  ["guarded", "boolean", (w) => w.claimedBy !== null],
  ["claimed_by", "text", (w) => w.claimedBy?.replayId ?? null],
];

/**
 * The row `v` of each write `w`, by position. A JSON null becomes NULL (`->`
 * alone would give jsonb 'null'). A time becomes a UTC timestamp, as Prisma
 * stores them, whatever the session time zone; milliseconds times a float
 * interval are exact until the year 2255.
 */
const ROW_SELECT = Prisma.raw(
  COLUMNS.map(([name, type], i) => {
    if (type === "jsonb") return `NULLIF(w->${i}, 'null'::jsonb) AS ${name}`;
    if (type === "text") return `w->>${i} AS ${name}`;
    if (type === "timestamp")
      return `'epoch'::timestamp + (w->>${i})::float8 * interval '1 millisecond' AS ${name}`;
    return `(w->>${i})::${type} AS ${name}`;
  }).join(", "),
);

/**
 * One statement for the whole round. The rows travel as one JSON parameter,
 * an array of arrays: one native JSON.stringify instead of escaping every
 * value into a PostgreSQL array literal, which cost the worker a tenth of its
 * allocations. Arrays, not objects: `json_to_recordset` over objects cost
 * PostgreSQL 7.8 µs a row to take apart (200 attempts, one connection), the
 * positions of a jsonb array 3.1, and the text to send is nearly a third
 * smaller. The whole write of 140 attempts fell from 53–55 µs of PostgreSQL's
 * CPU per attempt to 39–46 (one connection, three alternated pairs); in e2e,
 * PostgreSQL's CPU per delivery from 104–111 µs to 89–95 and the worker's
 * from 114–135 to 95–108, 6,758–7,419 deliveries/s against 5,922–6,263.
 * One row per attempt feeds both the INSERT and the UPDATE. PostgreSQL takes
 * a set-returning function for 100 rows whatever it returns; the LIMIT tells
 * it the real count, so a small batch updates its deliveries by primary key
 * instead of hashing a scan of the whole table (a one-attempt write cost
 * PostgreSQL 1.9 ms of CPU that way, 1.1 ms now).
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
  const rows = writes.map((w) => COLUMNS.map(([, , value]) => value(w)));
  return run(Prisma.sql`
    WITH v AS (
      SELECT ${ROW_SELECT} FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) AS w
      LIMIT ${rows.length}
    ), unflushed AS (
      SELECT set_config('synchronous_commit', 'off', true)
    ), inserted AS (
      INSERT INTO "DeliveryAttempt" ("id", "workspaceId", "deliveryId", "eventId", "endpointId", "number",
        "trigger", "url", "requestHeaders", "responseStatus", "responseHeaders",
        "responseBody", "error", "durationMs", "succeeded", "startedAt", "createdAt")
      SELECT id, workspace_id, delivery_id, event_id, endpoint_id, number, trigger::"AttemptTrigger", url,
        request_headers, response_status, response_headers, response_body, error,
        duration_ms, succeeded, started_at, created_at
      FROM v
    ), reset AS (
      UPDATE "Endpoint" AS e SET "consecutiveFailures" = 0
      WHERE e."id" IN (SELECT endpoint_id FROM v WHERE succeeded AND trigger <> 'TEST')
        AND e."consecutiveFailures" > 0
    )
    UPDATE "Delivery" AS d SET
      "status" = v.status::"DeliveryStatus",
      "retryStep" = v.retry_step,
      "nextAttemptAt" = v.next_attempt_at,
      "trigger" = v.next_trigger::"AttemptTrigger",
      "attempts" = d."attempts" + 1,
      "lastAttemptAt" = v.created_at,
      "lastResponseStatus" = v.last_response_status,
      "lastError" = v.last_error,
      "succeededAt" = COALESCE(v.succeeded_at, d."succeededAt"),
      "updatedAt" = v.created_at
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
