import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/ids.ts";
import { createDeliveryLoader } from "../../../src/services/deliveryLoader.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";

/** The batched raw-SQL loader must return exactly what Prisma's findMany with include returns. */
describe("deliveryLoader", () => {
  let db: TestDatabase;
  const ids: { plain: string; replayed: string } = { plain: "", replayed: "" };

  beforeAll(async () => {
    db = await createTestDatabase();
    const p = db.prisma;
    const workspaceId = newId("workspace");
    await p.workspace.create({ data: { id: workspaceId, name: "w" } });
    const endpoint = await p.endpoint.create({
      data: {
        id: newId("endpoint"),
        workspaceId,
        url: "https://example.com/hook",
        description: "2025-01-01T00:00:00 looks like a date but is text",
        eventTypes: ["email.*", "domain.dns_error"],
        streams: ["outbound"],
        headers: { "x-team": "billing" },
        secret: "whsec_a",
        previousSecret: "whsec_b",
        previousSecretExpiresAt: new Date("2030-01-02T03:04:05.678Z"),
        disabledAt: new Date("2025-05-05T05:05:05.005Z"),
      },
    });
    const replay = await p.replay.create({
      data: {
        id: newId("replay"),
        workspaceId,
        status: "RUNNING",
        since: new Date("2025-01-01T00:00:00Z"),
        until: new Date("2025-02-01T00:00:00Z"),
        endpointId: endpoint.id,
        eventTypes: [],
        filterKey: "k",
      },
    });
    for (const key of ["plain", "replayed"] as const) {
      const event = await p.event.create({
        data: {
          id: newId("event"),
          workspaceId,
          type: "email.bounced",
          stream: key === "plain" ? null : "outbound",
          payload: { bounce: { type: "hard" }, to: ["a@b.c"], n: 1.5, ok: true, none: null },
          occurredAt: new Date("2025-03-03T03:03:03.333Z"),
          idempotencyKey: key === "plain" ? null : "k1",
        },
      });
      const delivery = await p.delivery.create({
        data: {
          id: newId("delivery"),
          workspaceId,
          eventId: event.id,
          endpointId: endpoint.id,
          eventType: event.type,
          status: "RETRYING",
          trigger: key === "plain" ? "RETRY" : "REPLAY",
          retryStep: 2,
          attempts: 3,
          nextAttemptAt: new Date("2025-04-04T04:04:04.444Z"),
          lastResponseStatus: 503,
          lastError: "boom",
          replayId: key === "plain" ? null : replay.id,
        },
      });
      ids[key] = delivery.id;
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("loads deliveries with their event, endpoint and replay as Prisma does, in one batch", async () => {
    const loader = createDeliveryLoader(db.prisma);
    const [plain, replayed, missing, again] = await Promise.all([
      loader.run(ids.plain),
      loader.run(ids.replayed),
      loader.run("dlv_missing"),
      loader.run(ids.plain),
    ]);
    const expected = await db.prisma.delivery.findMany({
      where: { id: { in: [ids.plain, ids.replayed] } },
      include: { event: true, endpoint: true, replay: { select: { status: true, endpointId: true } } },
    });
    expect(plain).toEqual(expected.find((d) => d.id === ids.plain));
    expect(replayed).toEqual(expected.find((d) => d.id === ids.replayed));
    expect(replayed?.replay).toEqual({ status: "RUNNING", endpointId: replayed?.endpointId });
    expect(plain?.replay).toBeNull();
    expect(plain?.endpoint.previousSecretExpiresAt).toBeInstanceOf(Date);
    expect(missing).toBeNull();
    expect(again).toEqual(plain);
  });

  it("reads timestamps as UTC whatever the process's time zone", async () => {
    const zone = process.env.TZ;
    process.env.TZ = "Asia/Kolkata";
    try {
      const loaded = await createDeliveryLoader(db.prisma).run(ids.plain);
      expect(loaded?.nextAttemptAt).toEqual(new Date("2025-04-04T04:04:04.444Z"));
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});
