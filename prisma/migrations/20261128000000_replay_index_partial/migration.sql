-- Only replayed deliveries are looked up by replay: an ordinary delivery adds
-- no entry to this index, neither when published nor when its attempt is recorded.
DROP INDEX "Delivery_replayId_status_idx";
CREATE INDEX "Delivery_replayId_status_idx" ON "Delivery"("replayId", "status") WHERE "replayId" IS NOT NULL;
