-- API keys get scopes; every key made before them keeps full access.
CREATE TYPE "ApiKeyScope" AS ENUM ('ADMIN', 'PUBLISH', 'READ');
ALTER TABLE "ApiKey" ADD COLUMN "scopes" "ApiKeyScope"[] DEFAULT ARRAY['ADMIN']::"ApiKeyScope"[];

-- Custom headers whose values are stored and shown redacted.
ALTER TABLE "Endpoint" ADD COLUMN "sensitiveHeaders" TEXT[] DEFAULT ARRAY[]::TEXT[];
