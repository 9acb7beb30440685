-- Per-endpoint delivery policy: its own retry schedule, give-up age and rate limit; none set is
-- the server's default. A delivery remembers when its first attempt began, for the give-up age.
ALTER TABLE "Endpoint" ADD COLUMN "retryScheduleMs" INTEGER[] DEFAULT ARRAY[]::INTEGER[];
ALTER TABLE "Endpoint" ADD COLUMN "retryForSeconds" INTEGER;
ALTER TABLE "Endpoint" ADD COLUMN "rateLimitPerSecond" INTEGER;
ALTER TABLE "Delivery" ADD COLUMN "firstAttemptAt" TIMESTAMP(3);
