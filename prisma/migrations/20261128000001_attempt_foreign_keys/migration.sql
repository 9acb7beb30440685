-- Every foreign key PostgreSQL checks costs each inserted row a lookup and a
-- row lock. These four are implied by others: a delivery's workspace is its
-- event's, and an attempt's workspace, event and endpoint are its delivery's.
-- Removing a workspace, event or endpoint still removes their deliveries, and
-- removing a delivery its attempts.
ALTER TABLE "Delivery" DROP CONSTRAINT "Delivery_workspaceId_fkey";
ALTER TABLE "DeliveryAttempt" DROP CONSTRAINT "DeliveryAttempt_workspaceId_fkey";
ALTER TABLE "DeliveryAttempt" DROP CONSTRAINT "DeliveryAttempt_eventId_fkey";
ALTER TABLE "DeliveryAttempt" DROP CONSTRAINT "DeliveryAttempt_endpointId_fkey";

-- It served only the cascade from an event to its attempts, which now goes through their delivery.
DROP INDEX "DeliveryAttempt_eventId_idx";
