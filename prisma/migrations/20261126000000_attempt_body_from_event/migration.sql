-- Every attempt sends its event's webhook body, which the event already holds:
-- the API derives it from the event instead of storing a copy per attempt.
ALTER TABLE "DeliveryAttempt" DROP COLUMN "requestBody";
