import { type Db, queryRows } from "../db/client.ts";
import { Prisma } from "../db/generated/client.ts";

/**
 * Marks deliveries that a worker holds in line for a slow origin as due now.
 * The sweeper takes deliveries due for longer than its grace period, so while
 * the worker keeps marking them (src/backpressure/originLines.ts) it leaves them
 * alone, and once the worker is gone it takes them. Settled ones are left as
 * they are. Raw SQL: a first Prisma query shape compiles on the event loop.
 */
export async function markWaiting(prisma: Db, deliveryIds: readonly string[]): Promise<void> {
  await queryRows(
    prisma,
    Prisma.sql`
    UPDATE "Delivery" SET "nextAttemptAt" = ${new Date()}::timestamp(3)
    WHERE "id" = ANY(${[...deliveryIds]}::text[]) AND "status" IN ('PENDING', 'RETRYING')`,
  );
}

/**
 * Records when deliveries waiting for their endpoint's rate limit are due
 * (src/queue/endpointRateLimit.ts): the sweeper leaves them to their delayed
 * jobs until then, and the API shows when each goes. Settled ones are left as
 * they are, and a time only moves later: a mark that lands after the attempt
 * (a retry due later) changes nothing. Times travel as epoch ms: UTC whatever
 * the session's time zone.
 */
export async function markDueAt(
  prisma: Db,
  due: readonly { deliveryId: string; dueAt: Date }[],
): Promise<void> {
  await queryRows(
    prisma,
    Prisma.sql`
    UPDATE "Delivery" d SET "nextAttemptAt" = v.due_at
    FROM (
      SELECT id, 'epoch'::timestamp + due_ms * interval '1 millisecond' AS due_at
      FROM unnest(${due.map((d) => d.deliveryId)}::text[], ${due.map((d) => d.dueAt.getTime())}::float8[]) AS u(id, due_ms)
    ) v
    WHERE d."id" = v.id AND d."status" IN ('PENDING', 'RETRYING')
      AND (d."nextAttemptAt" IS NULL OR d."nextAttemptAt" < v.due_at)`,
  );
}

type DueDelivery = { id: string; nextAttemptAt: Date };

/**
 * Walks the unfinished deliveries due by `dueBy`, in due order, `chunkSize`
 * at a time, until `max` were handed to `take`; returns how many were. With
 * `endpointId`, that endpoint's; without (the sweeper), those of every
 * endpoint except one whose circuit was open at `dueBy`: its deliveries wait
 * for its probe, not for the sweeper. Raw SQL: a first Prisma query shape
 * compiles on the event loop, stalling every attempt in flight in a worker.
 */
export async function walkDueDeliveries(
  prisma: Db,
  scope: { dueBy: Date; endpointId?: string },
  chunk: { chunkSize: number; max: number },
  take: (deliveryIds: string[]) => Promise<void>,
): Promise<number> {
  const { dueBy, endpointId } = scope;
  const where = endpointId
    ? Prisma.sql`d."endpointId" = ${endpointId}`
    : Prisma.sql`NOT EXISTS (SELECT 1 FROM "Endpoint" n
        WHERE n."id" = d."endpointId" AND n."circuitOpenUntil" > ${dueBy}::timestamp(3))`;
  let taken = 0;
  let after: DueDelivery | null = null;
  while (taken < chunk.max) {
    const rows: DueDelivery[] = await queryRows<DueDelivery>(
      prisma,
      Prisma.sql`
        SELECT d."id", d."nextAttemptAt" FROM "Delivery" d
        WHERE d."status" IN ('PENDING', 'RETRYING') AND d."nextAttemptAt" <= ${dueBy}::timestamp(3) AND ${where}
          ${after ? Prisma.sql`AND (d."nextAttemptAt", d."id") > (${after.nextAttemptAt}::timestamp(3), ${after.id})` : Prisma.empty}
        ORDER BY d."nextAttemptAt", d."id"
        LIMIT ${Math.min(chunk.chunkSize, chunk.max - taken)}`,
    );
    if (rows.length === 0) break;
    await take(rows.map((d) => d.id));
    taken += rows.length;
    after = rows.at(-1) ?? null;
    if (rows.length < chunk.chunkSize) break;
  }
  return taken;
}
