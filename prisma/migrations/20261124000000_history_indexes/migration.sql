-- CreateIndex
CREATE INDEX "Delivery_workspaceId_status_createdAt_id_idx" ON "Delivery"("workspaceId", "status", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "DeliveryAttempt_eventId_idx" ON "DeliveryAttempt"("eventId");
