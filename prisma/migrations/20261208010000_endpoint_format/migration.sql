-- An endpoint can receive requests laid out and signed as another email platform sends them.
CREATE TYPE "WebhookFormat" AS ENUM ('STANDARD_WEBHOOKS', 'POSTJECT', 'POSTSTACK', 'POSTHAWK', 'POSTAL', 'HMAC_SHA256_HEX');
ALTER TABLE "Endpoint" ADD COLUMN "format" "WebhookFormat" NOT NULL DEFAULT 'STANDARD_WEBHOOKS';
