import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/ids.ts";
import { insertEventsAndDeliveries } from "../../../src/services/eventInserts.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";

describe("insertEventsAndDeliveries", () => {
  let db: TestDatabase;
  let workspaceId: string;
  let endpointIds: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    workspaceId = newId("workspace");
    await db.prisma.workspace.create({ data: { id: workspaceId, name: "w" } });
    endpointIds = [newId("endpoint"), newId("endpoint")];
    for (const id of endpointIds) {
      await db.prisma.endpoint.create({
        data: { id, workspaceId, url: "https://example.com/hook", eventTypes: ["*"], secret: "whsec_x" },
      });
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  const event = (idempotencyKey: string | null = null) => ({
    id: newId("event"),
    workspaceId,
    type: "email.sent",
    stream: idempotencyKey ? "outbound" : null,
    payload: { to: ["a@b.c"], nested: { n: 1 }, text: "é ✓" },
    occurredAt: new Date("2025-01-02T03:04:05.678Z"),
    idempotencyKey,
  });
  const deliveriesOf = (eventId: string) =>
    endpointIds.map((endpointId) => ({
      id: newId("delivery"),
      eventId,
      endpointId,
      eventType: "email.sent",
    }));

  it("stores events and PENDING deliveries as Prisma would, and returns their ids", async () => {
    const now = new Date("2025-06-01T00:00:00.123Z");
    const events = [event(), event("k-1")];
    const deliveries = events.flatMap((e) => deliveriesOf(e.id));
    const ids = await insertEventsAndDeliveries(db.prisma, workspaceId, now, events, deliveries);
    expect(ids.deliveryIds.sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect(ids.eventIds).toEqual(new Set(events.map((e) => e.id)));

    const stored = await db.prisma.event.findUniqueOrThrow({ where: { id: events[1]!.id } });
    expect(stored).toEqual({ ...events[1], isTest: false, createdAt: now });
    const delivery = await db.prisma.delivery.findUniqueOrThrow({ where: { id: deliveries[0]!.id } });
    expect(delivery).toMatchObject({
      workspaceId,
      eventId: events[0]!.id,
      endpointId: endpointIds[0],
      eventType: "email.sent",
      status: "PENDING",
      trigger: "SCHEDULED",
      attempts: 0,
      retryStep: 0,
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
    });
  });

  it("skips an event whose idempotency key is taken, with its deliveries, also twice in one call", async () => {
    const repeated = event("k-2");
    await insertEventsAndDeliveries(
      db.prisma,
      workspaceId,
      new Date(),
      [repeated],
      deliveriesOf(repeated.id),
    );

    const again = event("k-2");
    const twiceInOneCall = [event("k-3"), event("k-3")];
    const fresh = event();
    const events = [again, ...twiceInOneCall, fresh];
    const ids = await insertEventsAndDeliveries(
      db.prisma,
      workspaceId,
      new Date(),
      events,
      events.flatMap((e) => deliveriesOf(e.id)),
    );
    expect(ids.deliveryIds).toHaveLength(4); // the first k-3 event and the fresh one, two endpoints each
    expect(ids.eventIds).toEqual(new Set([twiceInOneCall[0]!.id, fresh.id]));
    expect(await db.prisma.event.count({ where: { id: { in: events.map((e) => e.id) } } })).toBe(2);
    expect(await db.prisma.delivery.count({ where: { eventId: again.id } })).toBe(0);
    expect(await db.prisma.delivery.count({ where: { eventId: twiceInOneCall[0]!.id } })).toBe(2);
    expect(await db.prisma.delivery.count({ where: { eventId: twiceInOneCall[1]!.id } })).toBe(0);
  });
});
