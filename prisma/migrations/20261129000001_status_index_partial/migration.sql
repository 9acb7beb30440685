-- Most deliveries succeed, and a page of SUCCEEDED ones is read from the
-- workspace's log index, nearly every row of which matches; this index serves
-- the rarer statuses, and a delivery's success adds no entry to it.
DROP INDEX "Delivery_workspaceId_status_createdAt_id_idx";
CREATE INDEX "Delivery_workspaceId_status_createdAt_id_idx" ON "Delivery"("workspaceId", "status", "createdAt" DESC, "id" DESC) WHERE status <> 'SUCCEEDED';
