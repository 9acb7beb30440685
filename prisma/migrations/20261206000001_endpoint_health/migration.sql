-- An endpoint's health is decided from its attempts as they are recorded: failed attempts in a
-- row open its circuit, and the first failure since its last success dates how long it has failed.
ALTER TABLE "Endpoint" ADD COLUMN "failedAttemptsInRow" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Endpoint" ADD COLUMN "failingSince" TIMESTAMP(3);
