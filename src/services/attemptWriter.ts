import { type Batcher, createBatcher } from "../db/batcher.ts";
import { type Db, inTransaction, queryRows } from "../db/client.ts";
import { type Delivery, type DeliveryAttempt, Prisma } from "../db/generated/client.ts";

/**
 * Writes delivery attempts in batches: for many concurrent attempts, one
 * statement inserts every attempt row, updates every delivery
 * (`UPDATE … FROM` the rows) and decides the health of every endpoint that a
 * (non-test) attempt reached, atomically. A caller's promise resolves with its
 * delivery as updated only once that statement has committed, so a job never
 * completes before its attempt is recorded: a crash can at worst repeat a
 * delivery, never lose one (see writeRound for a crash of PostgreSQL itself).
 *
 * Endpoint health is decided here and nowhere else, from the attempts in the
 * order they are recorded: the statement locks each endpoint whose health may
 * change, so concurrent writers apply their attempts one after another, each
 * to the state the one before left (see healthSql).
 */

/** The delivery's new state after one attempt; `attempts` is incremented in SQL. */
export type DeliveryChange = Pick<
  Delivery,
  "status" | "retryStep" | "nextAttemptAt" | "firstAttemptAt" | "trigger" | "lastResponseStatus" | "lastError"
> & {
  /** Set when the attempt succeeded; otherwise the delivery keeps its earlier value. */
  succeededAt: Date | null;
};

export type AttemptWrite = {
  attempt: DeliveryAttempt;
  change: DeliveryChange;
  /** This attempt ended its delivery as FAILED (retries exhausted, or 410 Gone). */
  failedForGood: boolean;
  /**
   * Applies the change only if the delivery still belongs to this replay (null:
   * to no replay), i.e. no replay claimed it during the attempt; otherwise only
   * the attempt row is written and the caller gets null. Null: unconditional.
   */
  claimedBy: { replayId: string | null } | null;
};

/** What recording an attempt changed about its endpoint's health; each change goes to one write of its batch. */
export type HealthChange = {
  endpointId: string;
  /** The circuit this write opened, until then. */
  circuitOpenedUntil: Date | null;
  /** The circuit this write closed: it had been open until then. */
  circuitClosedFrom: Date | null;
  /** Why this write disabled the endpoint. */
  disabledReason: string | null;
  failedAttemptsInRow: number;
  consecutiveFailures: number;
};

export type RecordedAttempt = { delivery: Delivery | null; health: HealthChange | null };

/** When an endpoint's circuit opens and when it is disabled (src/config.ts). */
export type HealthPolicy = {
  circuitFailureThreshold: number;
  circuitCooldownMs: number;
  disableAfterFailedDeliveries: number;
  disableAfterMs: number;
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

export function createAttemptWriter(
  prisma: Db,
  policy: HealthPolicy,
): Batcher<AttemptWrite, RecordedAttempt> {
  return createBatcher({
    maxBatch: MAX_BATCH,
    maxDelayMs: MAX_DELAY_MS,
    async runBatch(writes) {
      // UPDATE … FROM applies one row per delivery, so a delivery's second attempt
      // goes in a second statement, in the same transaction.
      const rounds = distinctRounds(writes, (w) => w.attempt.deliveryId);
      const results =
        rounds.length === 1
          ? [await writeRound((query) => queryRows<WrittenRow>(prisma, query), rounds[0]!, policy)]
          : await inTransaction(prisma, async (tx) => {
              const written: RoundResult[] = [];
              for (const round of rounds)
                written.push(await writeRound((query) => tx.rows<WrittenRow>(query), round, policy));
              return written;
            });
      const updated = new Map(results.flatMap((r) => r.deliveries).map((row) => [row.id, row]));
      // Each change goes to the first write of its endpoint, which announces it.
      const changes = new Map(results.flatMap((r) => r.health).map((h) => [h.endpointId, h]));
      return writes.map((w) => {
        const health = changes.get(w.attempt.endpointId) ?? null;
        if (health) changes.delete(w.attempt.endpointId);
        return { delivery: updated.get(w.attempt.deliveryId) ?? null, health };
      });
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
  ["first_attempt_at", "timestamp", (w) => epochMs(w.change.firstAttemptAt)],
  ["next_trigger", "text", (w) => w.change.trigger],
  ["last_response_status", "int", (w) => w.change.lastResponseStatus],
  ["last_error", "text", (w) => w.change.lastError],
  ["succeeded_at", "timestamp", (w) => epochMs(w.change.succeededAt)],
  ["guarded", "boolean", (w) => w.claimedBy !== null],
  ["claimed_by", "text", (w) => w.claimedBy?.replayId ?? null],
  ["failed_for_good", "boolean", (w) => w.failedForGood],
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
export async function writeRound(
  run: (query: Prisma.Sql) => Promise<WrittenRow[]>,
  writes: AttemptWrite[],
  policy: HealthPolicy,
): Promise<RoundResult> {
  const rows = writes.map((w) => COLUMNS.map(([, , value]) => value(w)));
  const written = await run(Prisma.sql`
    WITH v AS (
      SELECT ${ROW_SELECT}, t.ord FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) WITH ORDINALITY AS t(w, ord)
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
    ), ${healthSql(policy)}, updated AS (
      UPDATE "Delivery" AS d SET
        "status" = v.status::"DeliveryStatus",
        "retryStep" = v.retry_step,
        "nextAttemptAt" = v.next_attempt_at,
        "firstAttemptAt" = v.first_attempt_at,
        "trigger" = v.next_trigger::"AttemptTrigger",
        "attempts" = d."attempts" + 1,
        "lastAttemptAt" = v.created_at,
        "lastResponseStatus" = v.last_response_status,
        "lastError" = v.last_error,
        "succeededAt" = COALESCE(v.succeeded_at, d."succeededAt"),
        "updatedAt" = v.created_at
      FROM v, unflushed
      WHERE d."id" = v.delivery_id AND (NOT v.guarded OR d."replayId" IS NOT DISTINCT FROM v.claimed_by)
      RETURNING d.*
    )
    SELECT u.*, NULL::jsonb AS health FROM updated u
    UNION ALL
    SELECT (NULL::"Delivery").*, to_jsonb(h) FROM health h
    WHERE h."circuitOpenedUntil" IS NOT NULL OR h."circuitClosedFrom" IS NOT NULL OR h."disabledReason" IS NOT NULL`);
  const result: RoundResult = { deliveries: [], health: [] };
  for (const row of written) {
    if (row.health) result.health.push(healthChangeOf(row.health));
    else result.deliveries.push(deliveryOf(row));
  }
  return result;
}

/** A row of writeRound's statement: a delivery as updated, or (with its other columns null) a health change. */
export type WrittenRow = Delivery & { health: RawHealthChange | null };
type RoundResult = { deliveries: Delivery[]; health: HealthChange[] };
/** Times in epoch milliseconds, as to_jsonb gives them. */
type RawHealthChange = Omit<HealthChange, "circuitOpenedUntil" | "circuitClosedFrom"> & {
  circuitOpenedUntil: number | null;
  circuitClosedFrom: number | null;
};

const dateOf = (ms: number | null) => (ms === null ? null : new Date(ms));

function healthChangeOf(raw: RawHealthChange): HealthChange {
  return {
    ...raw,
    circuitOpenedUntil: dateOf(raw.circuitOpenedUntil),
    circuitClosedFrom: dateOf(raw.circuitClosedFrom),
  };
}

function deliveryOf(row: WrittenRow): Delivery {
  const { health: _, ...delivery } = row;
  return delivery;
}

/**
 * The CTEs that decide the health of each endpoint the round's (non-test)
 * attempts reached, in the order of the round, and return what changed:
 *
 * - `outcome`: per endpoint, whether an attempt succeeded, and what failed
 *   after its last success: attempts, deliveries failed for good, the first
 *   failure's time, a 410 Gone.
 * - `locked`: the endpoints whose health may change (a failure now, or one
 *   not healthy before), locked in id order and read as they are now, after
 *   any concurrent writer's commit. An endpoint healthy before and after is
 *   neither locked nor written, so healthy traffic never queues on its row.
 * - `next`: its new state. A success restarts every count; failures after it
 *   are added. The circuit opens at CIRCUIT_FAILURE_THRESHOLD failed attempts
 *   in a row (again after a failed probe) and closes with a success. It is
 *   disabled at once on 410 Gone, at ENDPOINT_FAILURE_THRESHOLD deliveries in a
 *   row failed for good, or when it is failing and its first failure since
 *   its last success is ENDPOINT_DISABLE_AFTER old.
 * - `health`: the UPDATE, returning the changes worth announcing.
 */
function healthSql(policy: HealthPolicy): Prisma.Sql {
  const { circuitFailureThreshold, circuitCooldownMs, disableAfterFailedDeliveries, disableAfterMs } = policy;
  return Prisma.sql`counted AS (
      SELECT v.*, max(v.ord) FILTER (WHERE v.succeeded) OVER (PARTITION BY v.endpoint_id) AS last_success
      FROM v WHERE v.trigger <> 'TEST'
    ), outcome AS (
      SELECT endpoint_id,
        bool_or(succeeded) AS succeeded,
        count(*) FILTER (WHERE NOT succeeded AND ord > COALESCE(last_success, 0))::int AS failed_attempts,
        count(*) FILTER (WHERE failed_for_good AND ord > COALESCE(last_success, 0))::int AS failed_deliveries,
        min(created_at) FILTER (WHERE NOT succeeded AND ord > COALESCE(last_success, 0)) AS first_failure_at,
        bool_or(NOT succeeded AND response_status = 410) AS gone,
        max(created_at) AS at
      FROM counted GROUP BY endpoint_id
    ), locked AS (
      SELECT e."id", e."enabled", e."consecutiveFailures", e."failedAttemptsInRow", e."failingSince",
        e."circuitOpenUntil"
      FROM "Endpoint" e JOIN outcome o ON o.endpoint_id = e."id"
      WHERE o.failed_attempts > 0 OR e."failedAttemptsInRow" > 0 OR e."consecutiveFailures" > 0
        OR e."failingSince" IS NOT NULL OR e."circuitOpenUntil" IS NOT NULL
      ORDER BY e."id"
      FOR UPDATE OF e
    ), counts AS (
      SELECT l.*, o.*,
        CASE WHEN o.succeeded THEN 0 ELSE l."failedAttemptsInRow" END + o.failed_attempts AS attempts_in_row,
        CASE WHEN o.succeeded THEN 0 ELSE l."consecutiveFailures" END + o.failed_deliveries AS deliveries_in_row,
        CASE WHEN o.failed_attempts = 0 THEN (CASE WHEN o.succeeded THEN NULL ELSE l."failingSince" END)
          WHEN o.succeeded THEN o.first_failure_at
          ELSE COALESCE(l."failingSince", o.first_failure_at) END AS failing_since
      FROM locked l JOIN outcome o ON o.endpoint_id = l."id"
    ), next AS (
      SELECT c.*,
        ${circuitFailureThreshold}::int > 0 AND c.attempts_in_row >= ${circuitFailureThreshold}::int
          AND (c.succeeded OR c."circuitOpenUntil" IS NULL OR c."circuitOpenUntil" <= c.at) AS opens,
        CASE WHEN NOT c."enabled" THEN NULL
          WHEN c.gone THEN 'the endpoint answered 410 Gone'
          WHEN ${disableAfterFailedDeliveries}::int > 0 AND c.deliveries_in_row >= ${disableAfterFailedDeliveries}::int
            THEN c.deliveries_in_row || ' consecutive deliveries failed for good'
          WHEN ${disableAfterMs}::float8 > 0 AND c.failed_attempts > 0
            AND c.failing_since <= c.at - ${disableAfterMs}::float8 * interval '1 millisecond'
            THEN 'no successful attempt for ' || ${durationText(disableAfterMs)}::text || ' while failing'
          END AS disabled_reason
      FROM counts c
    ), health AS (
      UPDATE "Endpoint" AS e SET
        "failedAttemptsInRow" = n.attempts_in_row,
        "consecutiveFailures" = n.deliveries_in_row,
        "failingSince" = n.failing_since,
        "circuitOpenUntil" = CASE WHEN n.opens THEN n.at + ${circuitCooldownMs}::float8 * interval '1 millisecond'
          WHEN n.succeeded THEN NULL ELSE n."circuitOpenUntil" END,
        "enabled" = n."enabled" AND n.disabled_reason IS NULL,
        "disabledReason" = COALESCE(n.disabled_reason, e."disabledReason"),
        "disabledAt" = CASE WHEN n.disabled_reason IS NULL THEN e."disabledAt" ELSE n.at END,
        "updatedAt" = n.at
      FROM next n
      WHERE e."id" = n."id"
      RETURNING e."id" AS "endpointId",
        CASE WHEN n.opens THEN extract(epoch FROM e."circuitOpenUntil") * 1000 END AS "circuitOpenedUntil",
        CASE WHEN n.succeeded AND NOT n.opens AND n."circuitOpenUntil" IS NOT NULL
          THEN extract(epoch FROM n."circuitOpenUntil") * 1000 END AS "circuitClosedFrom",
        n.disabled_reason AS "disabledReason",
        n.attempts_in_row AS "failedAttemptsInRow",
        n.deliveries_in_row AS "consecutiveFailures"
    )`;
}

/** "5 days", "12 hours", "90 minutes", "30 seconds": for a disable reason. */
export function durationText(ms: number): string {
  const units = [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
    ["second", 1_000],
  ] as const;
  const [unit, size] = units.find(([, size]) => ms % size === 0 && ms >= size) ?? ["millisecond", 1];
  const n = ms / size;
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
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
