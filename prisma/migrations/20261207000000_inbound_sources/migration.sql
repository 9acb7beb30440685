-- Inbound provider webhooks: sources the providers post to, and a log of what they posted.
CREATE TYPE "InboundProvider" AS ENUM ('RESEND', 'SENDGRID', 'MAILGUN', 'POSTMARK', 'AMAZON_SES', 'GENERIC');
CREATE TYPE "InboundMessageStatus" AS ENUM ('ACCEPTED', 'REJECTED', 'IGNORED');

CREATE TABLE "InboundSource" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "provider" "InboundProvider" NOT NULL,
    "name" TEXT NOT NULL,
    "stream" TEXT,
    "verification" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InboundSource_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "InboundMessage" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "sourceId" TEXT NOT NULL,
    "status" "InboundMessageStatus" NOT NULL,
    "reason" TEXT,
    "eventIds" TEXT[],
    "body" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InboundMessage_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "InboundSource_workspaceId_id_idx" ON "InboundSource"("workspaceId", "id" DESC);
CREATE INDEX "InboundMessage_sourceId_createdAt_id_idx" ON "InboundMessage"("sourceId", "createdAt" DESC, "id" DESC);
CREATE INDEX "InboundMessage_workspaceId_idx" ON "InboundMessage"("workspaceId");
CREATE INDEX "InboundMessage_createdAt_idx" ON "InboundMessage"("createdAt");

ALTER TABLE "InboundSource" ADD CONSTRAINT "InboundSource_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "InboundMessage" ADD CONSTRAINT "InboundMessage_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "InboundMessage" ADD CONSTRAINT "InboundMessage_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "InboundSource"("id") ON DELETE CASCADE ON UPDATE CASCADE;
