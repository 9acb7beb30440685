-- An endpoint that keeps failing pauses its scheduled attempts until a probe succeeds.
ALTER TABLE "Endpoint" ADD COLUMN "circuitOpenUntil" TIMESTAMP(3);

-- Only unfinished deliveries are ever looked up by due time: a delivery that
-- succeeds leaves the sweeper's index instead of adding an entry to it.
DROP INDEX "Delivery_status_nextAttemptAt_idx";
CREATE INDEX "Delivery_nextAttemptAt_id_idx" ON "Delivery"("nextAttemptAt", "id") WHERE status IN ('PENDING', 'RETRYING');
CREATE INDEX "Delivery_endpointId_nextAttemptAt_id_idx" ON "Delivery"("endpointId", "nextAttemptAt", "id") WHERE status IN ('PENDING', 'RETRYING');
