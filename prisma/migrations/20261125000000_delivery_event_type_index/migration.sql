-- CreateIndex
CREATE INDEX "Delivery_workspaceId_eventType_createdAt_id_idx" ON "Delivery"("workspaceId", "eventType", "createdAt" DESC, "id" DESC);
