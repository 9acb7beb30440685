import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { createPrismaClient } from "../../src/db/client.ts";
import { openDatabase } from "../../src/db/database.ts";
import { startEmbeddedPostgres } from "../../src/db/embedded.ts";
import { migrate } from "../../src/db/migrate.ts";
import { createAttemptWriter } from "../../src/services/attemptWriter.ts";
import { createDeliveryLoader } from "../../src/services/deliveryLoader.ts";
import { insertEventsAndDeliveries } from "../../src/services/eventInserts.ts";
import { DEFAULT_HEALTH_POLICY, successWrite } from "../support/attemptWrites.ts";
import { createTestDatabase } from "../support/db.ts";

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hp-embedded-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

// PGlite runs PostgreSQL in WebAssembly: creating a data dir takes seconds on
// an idle machine and much longer on a loaded one, so these tests get room.
const PGLITE_TIMEOUT_MS = 180_000;

describe("embedded PostgreSQL (PGlite)", { timeout: PGLITE_TIMEOUT_MS }, () => {
  it("is migrated and used through Prisma, and keeps its data across restarts", async () => {
    const first = await startEmbeddedPostgres(dataDir);
    try {
      expect(first.url).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
      expect((await migrate(first.url)).applied.length).toBeGreaterThan(0);
      const prisma = createPrismaClient({ url: first.url, poolMax: 1 });
      await prisma.workspace.create({ data: { id: "ws_embedded", name: "Embedded" } });
      await prisma.endpoint.create({
        data: {
          id: "ep_embedded",
          workspaceId: "ws_embedded",
          url: "https://example.com/",
          eventTypes: ["*"],
          secret: "whsec_x",
        },
      });
      // The hot raw statements (publish insert, delivery loader, attempt writer) run on PGlite as on PostgreSQL.
      const loader = createDeliveryLoader(prisma);
      const writer = createAttemptWriter(prisma, DEFAULT_HEALTH_POLICY);
      for (const n of [1, 2]) {
        const now = new Date();
        const event = {
          id: `evt_embedded_${n}`,
          workspaceId: "ws_embedded",
          type: "email.sent",
          payloadJson: JSON.stringify({ n }),
          occurredAt: now,
        };
        const { deliveryIdsToEnqueue: deliveryIds } = await insertEventsAndDeliveries(
          prisma,
          "ws_embedded",
          now,
          [event],
        );
        expect(deliveryIds).toHaveLength(1);
        const delivery = await loader.run(deliveryIds[0]!);
        expect(delivery).toMatchObject({ eventId: event.id, status: "PENDING", event: { payload: { n } } });
        const { delivery: recorded } = await writer.run(
          successWrite({
            id: `att_embedded_${n}`,
            workspaceId: "ws_embedded",
            deliveryId: deliveryIds[0]!,
            eventId: event.id,
            endpointId: "ep_embedded",
            number: 1,
            trigger: "SCHEDULED",
            url: "https://example.com/",
            requestHeaders: { "webhook-id": event.id },
            responseStatus: 200,
            responseHeaders: {},
            responseBody: "ok",
            error: null,
            durationMs: 3,
            succeeded: true,
            startedAt: now,
            createdAt: now,
          }),
        );
        expect(recorded).toMatchObject({ id: deliveryIds[0], status: "SUCCEEDED", attempts: 1 });
      }
      await prisma.$disconnect();
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres(dataDir);
    try {
      expect(await migrate(second.url)).toEqual({ applied: [] });
      const prisma = createPrismaClient({ url: second.url, poolMax: 1 });
      expect(await prisma.workspace.findUnique({ where: { id: "ws_embedded" } })).toMatchObject({
        name: "Embedded",
      });
      await prisma.$disconnect();
    } finally {
      await second.stop();
    }
  });

  it("refuses a second server on the same data dir", async () => {
    const running = await startEmbeddedPostgres(dataDir);
    try {
      await expect(startEmbeddedPostgres(dataDir)).rejects.toThrow(/already open/);
    } finally {
      await running.stop();
    }
  });
});

describe("openDatabase", { timeout: PGLITE_TIMEOUT_MS }, () => {
  it("starts the embedded database when DATABASE_URL is unset", async () => {
    const logs: string[] = [];
    const db = await openDatabase(loadConfig({ DATA_DIR: dataDir }), (m) => logs.push(m));
    try {
      expect(db.embedded).toBe(true);
      expect(await db.prisma.workspace.count()).toBe(1);
      expect(logs.join("\n")).toMatch(/embedded database ready/);
    } finally {
      await db.close();
    }
  });

  it("uses DATABASE_URL with the configured pool when it is set", async () => {
    const t = await createTestDatabase({ migrate: false });
    try {
      const db = await openDatabase(loadConfig({ DATABASE_URL: t.url, DATABASE_POOL_MAX: "3" }), () => {});
      try {
        expect(db).toMatchObject({ url: t.url, embedded: false });
        expect(await db.prisma.workspace.count()).toBe(0);
      } finally {
        await db.close();
      }
    } finally {
      await t.drop();
    }
  });
});
