import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import type { DeliveryStatus } from "../../../src/db/generated/client.ts";
import type { Deps } from "../../../src/deps.ts";
import { newId } from "../../../src/ids.ts";
import type { JobPayloads } from "../../../src/jobs.ts";
import { sweepDueDeliveries } from "../../../src/queue/sweeper.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";

/**
 * The sweep against a real PostgreSQL; only the queue is a stand-in that
 * records what it is given. More due deliveries than one page (1,000), with a
 * page boundary inside a run of equal `nextAttemptAt`, so the keyset paging
 * must neither skip nor repeat a delivery. Two endpoints' circuits are
 * open at the sweep's due time (one has ended since, within the grace): their
 * deliveries wait for a probe. A third's ended longer ago than the grace: its
 * probe was lost, so the sweep takes them.
 */
describe("sweepDueDeliveries", () => {
  const GRACE_MS = 60_000;
  const now = new Date("2026-06-01T12:00:00.000Z");
  const longAgo = new Date(now.getTime() - 10 * GRACE_MS);
  let db: TestDatabase;
  const due: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const workspaceId = newId("workspace");
    await db.prisma.workspace.create({ data: { id: workspaceId, name: "w" } });
    const endpointIds = Array.from({ length: 25 }, () => newId("endpoint"));
    const circuits = [
      new Date(now.getTime() + GRACE_MS),
      new Date(now.getTime() - GRACE_MS / 2),
      new Date(now.getTime() - 2 * GRACE_MS),
    ];
    const waitForProbe = (e: number) => e < 2;
    await db.prisma.endpoint.createMany({
      data: endpointIds.map((id, e) => ({
        id,
        workspaceId,
        url: "https://example.com/h",
        eventTypes: ["*"],
        secret: "whsec_x",
        circuitOpenUntil: circuits[e] ?? null,
      })),
    });
    const eventIds = Array.from({ length: 100 }, () => newId("event"));
    await db.prisma.event.createMany({
      data: eventIds.map((id) => ({ id, workspaceId, type: "email.sent", payload: {}, occurredAt: longAgo })),
    });
    // 2,500 deliveries: 1,500 due at the very same moment, 700 due at distinct moments, and 300
    // that are not (settled, or due within the grace period).
    const rows = endpointIds.flatMap((endpointId, e) =>
      eventIds.map((eventId, v) => {
        const n = e * eventIds.length + v;
        const [status, nextAttemptAt]: [DeliveryStatus, Date] =
          n < 1_500
            ? ["PENDING", longAgo]
            : n < 2_200
              ? [n % 2 ? "RETRYING" : "PENDING", new Date(longAgo.getTime() + n)]
              : n < 2_300
                ? ["SUCCEEDED", longAgo]
                : n < 2_400
                  ? ["FAILED", longAgo]
                  : ["PENDING", new Date(now.getTime() - GRACE_MS / 2)];
        const id = newId("delivery");
        if (n < 2_200 && !waitForProbe(e)) due.push(id);
        return { id, workspaceId, eventId, endpointId, eventType: "email.sent", status, nextAttemptAt };
      }),
    );
    await db.prisma.delivery.createMany({ data: rows });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("offers every due delivery exactly once, over several pages", async () => {
    const offered: string[] = [];
    const deps = {
      config: loadConfig({ SWEEP_GRACE_MS: String(GRACE_MS) }),
      prisma: db.prisma,
      queues: {
        delivery: {
          addBulk: async (jobs: { data: JobPayloads["delivery"] }[]) => {
            offered.push(...jobs.map((job) => job.data.deliveryId));
            return [];
          },
        },
      },
    } as unknown as Deps;

    const count = await sweepDueDeliveries(deps, now);

    expect(count).toBe(due.length);
    expect(offered).toHaveLength(due.length);
    expect(new Set(offered)).toEqual(new Set(due));
  });
});
