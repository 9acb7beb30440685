import { type Db, queryRows } from "../db/client.ts";
import { type Delivery, Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { notFound } from "../errors.ts";
import { deliverAttempt } from "./dispatch.ts";

/** Sends the delivery again now as a MANUAL attempt, signed with the endpoint's current secret(s). */
export async function replayDelivery(deps: Deps, workspaceId: string, id: string): Promise<Delivery> {
  const exists = await deps.prisma.delivery.findFirst({ where: { id, workspaceId }, select: { id: true } });
  if (!exists) throw notFound("delivery", id);
  const outcome = await deliverAttempt(deps, id, { trigger: "MANUAL" });
  if (outcome.kind === "attempted") return outcome.delivery;
  throw notFound("delivery", id);
}

/**
 * Marks deliveries that a worker holds in line for a slow origin as due now.
 * The sweeper takes deliveries due for longer than its grace period, so while
 * the worker keeps marking them (src/queue/originLines.ts) it leaves them
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
