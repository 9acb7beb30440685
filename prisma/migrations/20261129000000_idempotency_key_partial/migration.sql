-- Only events published with an idempotency key are looked up by it: an
-- event without one adds no entry to this index. (NULLs never conflicted.)
DROP INDEX "Event_workspaceId_idempotencyKey_key";
CREATE UNIQUE INDEX "Event_workspaceId_idempotencyKey_key" ON "Event"("workspaceId", "idempotencyKey") WHERE "idempotencyKey" IS NOT NULL;
