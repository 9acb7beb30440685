import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openConnections } from "../../src/db/client.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { createDeliveryLoader } from "../../src/services/deliveryLoader.ts";
import { insertEventsAndDeliveries } from "../../src/services/eventInserts.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { waitFor } from "../support/wait.ts";

const IDLE_TIMEOUT_MS = "200";
// Creating an embedded data dir takes seconds idle and much longer on a loaded machine.
const TIMEOUT_MS = 180_000;

/** Publishes one event through the prepared publish insert and loads its delivery through the prepared loader. */
async function publish(db: Database, n: number): Promise<void> {
  const now = new Date();
  const event = {
    id: `evt_idle_${n}`,
    type: "email.sent",
    payloadJson: JSON.stringify({ n }),
    occurredAt: now,
  };
  const { deliveryIdsToEnqueue } = await insertEventsAndDeliveries(db.prisma, "ws_idle", now, [event]);
  expect(deliveryIdsToEnqueue).toHaveLength(1);
  const loader = createDeliveryLoader(db.prisma);
  expect(await loader.run(deliveryIdsToEnqueue[0]!)).toMatchObject({ eventId: event.id, status: "PENDING" });
}

/** Publishes, lets the pool close its idle connection, and publishes on a new one, three times over. */
async function publishAcrossIdleGaps(db: Database): Promise<void> {
  await db.prisma.workspace.create({ data: { id: "ws_idle", name: "Idle" } });
  await db.prisma.endpoint.create({
    data: {
      id: "ep_idle",
      workspaceId: "ws_idle",
      url: "https://example.com/",
      eventTypes: ["*"],
      secret: "whsec_x",
    },
  });
  for (const n of [1, 2, 3]) {
    await publish(db, n);
    await waitFor(() => openConnections(db.prisma) === 0, "the pool to close its idle connection");
  }
  expect(await db.prisma.event.count({ where: { workspaceId: "ws_idle" } })).toBe(3);
}

describe("publishing after the pool's connections went idle", { timeout: TIMEOUT_MS }, () => {
  let dataDir: string;
  let server: TestDatabase;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "hp-idle-"));
    server = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await server?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("works on the embedded database", async () => {
    const db = await openDatabase(
      loadConfig({ DATA_DIR: dataDir, DATABASE_IDLE_TIMEOUT_MS: IDLE_TIMEOUT_MS }),
      () => {},
    );
    try {
      await publishAcrossIdleGaps(db);
    } finally {
      await db.close();
    }
  });

  it("works on a PostgreSQL server", async () => {
    const db = await openDatabase(
      loadConfig({ DATABASE_URL: server.url, DATABASE_IDLE_TIMEOUT_MS: IDLE_TIMEOUT_MS }),
      () => {},
    );
    try {
      await publishAcrossIdleGaps(db);
    } finally {
      await db.close();
    }
  });
});
