import type { Deps } from "../deps.ts";

/**
 * Retention: delivery attempts and events older than `retention.days` are
 * deleted, a bounded batch per statement so no transaction or lock grows with
 * the backlog. Deleting an event cascades to its deliveries and their attempts.
 * Inbound sources' logs (InboundMessage) keep the same period.
 */

const DAY_MS = 86_400_000;
const PRUNE_BATCH = 2_000;

export async function pruneExpired(
  deps: Deps,
  now = new Date(),
): Promise<{ attempts: number; events: number; inboundMessages: number }> {
  const days = deps.config.retention.days;
  if (days === 0) return { attempts: 0, events: 0, inboundMessages: 0 };
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const { prisma } = deps;
  const attempts = await deleteInBatches(
    () => prisma.$executeRaw`
      DELETE FROM "DeliveryAttempt" WHERE id IN (
        SELECT id FROM "DeliveryAttempt" WHERE "createdAt" < ${cutoff} LIMIT ${PRUNE_BATCH})`,
  );
  const events = await deleteInBatches(
    () => prisma.$executeRaw`
      DELETE FROM "Event" WHERE id IN (
        SELECT id FROM "Event" WHERE "createdAt" < ${cutoff} LIMIT ${PRUNE_BATCH})`,
  );
  const inboundMessages = await deleteInBatches(
    () => prisma.$executeRaw`
      DELETE FROM "InboundMessage" WHERE id IN (
        SELECT id FROM "InboundMessage" WHERE "createdAt" < ${cutoff} LIMIT ${PRUNE_BATCH})`,
  );
  return { attempts, events, inboundMessages };
}

async function deleteInBatches(deleteBatch: () => Promise<number>): Promise<number> {
  let deleted = 0;
  for (;;) {
    const count = await deleteBatch();
    deleted += count;
    if (count < PRUNE_BATCH) return deleted;
  }
}
