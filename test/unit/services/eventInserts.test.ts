import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/ids.ts";
import { insertEventsAndDeliveries } from "../../../src/services/eventInserts.ts";
import { eventTypeMatches, streamMatches } from "../../../src/services/eventTypes.ts";
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

  // An event as the publish hands it over (data as JSON text), and as the Event row should read.
  const event = (idempotencyKey: string | null = null) => {
    const payload = { to: ["a@b.c"], nested: { n: 1 }, text: 'é ✓ " \\ \n' };
    const row = {
      id: newId("event"),
      workspaceId,
      type: "email.sent",
      stream: idempotencyKey ? "outbound" : null,
      payload,
      occurredAt: new Date("2025-01-02T03:04:05.678Z"),
      idempotencyKey,
    };
    return { ...row, payloadJson: JSON.stringify(payload), row };
  };
  it("stores events and PENDING deliveries as Prisma would, and returns their ids", async () => {
    const now = new Date("2025-06-01T00:00:00.123Z");
    const events = [event(), event("k-1")];
    const ids = await insertEventsAndDeliveries(db.prisma, workspaceId, now, events);
    expect(ids.eventIds).toEqual(new Set(events.map((e) => e.id)));
    const deliveries = await db.prisma.delivery.findMany({ where: { id: { in: ids.deliveryIdsToEnqueue } } });
    expect(deliveries.map((d) => `${d.eventId} ${d.endpointId}`).sort()).toEqual(
      events.flatMap((e) => endpointIds.map((endpointId) => `${e.id} ${endpointId}`)).sort(),
    );
    // ULIDs of the publish's time, like every other id.
    for (const id of ids.deliveryIdsToEnqueue) expect(id).toMatch(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(
      ids.deliveryIdsToEnqueue.every(
        (id) => id.slice(0, 14) === newId("delivery", now.getTime()).slice(0, 14),
      ),
    ).toBe(true);

    const stored = await db.prisma.event.findUniqueOrThrow({ where: { id: events[1]!.id } });
    expect(stored).toEqual({ ...events[1]!.row, isTest: false, createdAt: now });
    const delivery = deliveries.find((d) => d.eventId === events[0]!.id && d.endpointId === endpointIds[0])!;
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
    await insertEventsAndDeliveries(db.prisma, workspaceId, new Date(), [repeated]);

    const again = event("k-2");
    const twiceInOneCall = [event("k-3"), event("k-3")];
    const fresh = event();
    const events = [again, ...twiceInOneCall, fresh];
    const ids = await insertEventsAndDeliveries(db.prisma, workspaceId, new Date(), events);
    expect(ids.deliveryIdsToEnqueue).toHaveLength(4); // the first k-3 event and the fresh one, two endpoints each
    expect(ids.eventIds).toEqual(new Set([twiceInOneCall[0]!.id, fresh.id]));
    expect(await db.prisma.event.count({ where: { id: { in: events.map((e) => e.id) } } })).toBe(2);
    expect(await db.prisma.delivery.count({ where: { eventId: again.id } })).toBe(0);
    expect(await db.prisma.delivery.count({ where: { eventId: twiceInOneCall[0]!.id } })).toBe(2);
    expect(await db.prisma.delivery.count({ where: { eventId: twiceInOneCall[1]!.id } })).toBe(0);
  });
  it("delivers to exactly the endpoints eventTypeMatches and streamMatches admit", async () => {
    const otherWorkspace = newId("workspace");
    const ws = newId("workspace");
    await db.prisma.workspace.createMany({
      data: [
        { id: ws, name: "m" },
        { id: otherWorkspace, name: "o" },
      ],
    });
    const filters: { eventTypes: string[]; streams: string[]; enabled?: boolean; workspaceId?: string }[] = [
      { eventTypes: ["*"], streams: [] },
      { eventTypes: ["email.*"], streams: [] },
      { eventTypes: ["email.bounced", "email.sent"], streams: [] },
      { eventTypes: ["email.opened"], streams: [] },
      { eventTypes: ["*"], streams: ["marketing"] },
      { eventTypes: ["email.*"], streams: ["outbound", "marketing"] },
      { eventTypes: ["endpoint.*"], streams: [] },
      { eventTypes: ["endpoint.disabled"], streams: [] },
      { eventTypes: ["*"], streams: [], enabled: false },
      { eventTypes: ["*"], streams: [], workspaceId: otherWorkspace },
    ];
    const endpoints = filters.map((f) => ({
      id: newId("endpoint"),
      workspaceId: f.workspaceId ?? ws,
      url: "https://example.com/hook",
      secret: "whsec_x",
      eventTypes: f.eventTypes,
      streams: f.streams,
      enabled: f.enabled ?? true,
    }));
    await db.prisma.endpoint.createMany({ data: endpoints });
    const cases = [
      ["email.sent", null],
      ["email.bounced", "outbound"],
      ["email.opened", "marketing"],
      ["email.clicked", "transactional"],
      ["endpoint.disabled", null],
      ["delivery.exhausted", null],
    ] as const;
    const events = cases.map(([type, stream]) => ({
      id: newId("event"),
      workspaceId: ws,
      type,
      stream,
      payloadJson: "{}",
      occurredAt: new Date(),
      idempotencyKey: null,
    }));
    const ids = await insertEventsAndDeliveries(db.prisma, ws, new Date(), events);
    const stored = await db.prisma.delivery.findMany({ where: { id: { in: ids.deliveryIdsToEnqueue } } });
    const expected = events.flatMap((e) =>
      endpoints
        .filter(
          (n) =>
            n.workspaceId === ws &&
            n.enabled &&
            eventTypeMatches(n.eventTypes, e.type) &&
            streamMatches(n.streams, e.stream),
        )
        .map((n) => `${e.type}/${e.stream} → ${n.eventTypes}/${n.streams}`),
    );
    const byId = new Map(endpoints.map((n) => [n.id, n]));
    const byEvent = new Map(events.map((e) => [e.id, e]));
    const actual = stored.map((d) => {
      const e = byEvent.get(d.eventId)!;
      const n = byId.get(d.endpointId)!;
      return `${e.type}/${e.stream} → ${n.eventTypes}/${n.streams}`;
    });
    expect(actual.sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(10);
  });

  it("stores the deliveries of an endpoint whose circuit is open, but leaves them to its probe", async () => {
    const ws = newId("workspace");
    await db.prisma.workspace.create({ data: { id: ws, name: "c" } });
    const now = new Date();
    const circuits = {
      closed: null,
      open: new Date(now.getTime() + 30_000),
      ended: new Date(now.getTime() - 1),
    };
    const endpoints = Object.entries(circuits).map(([name, circuitOpenUntil]) => ({
      id: newId("endpoint"),
      workspaceId: ws,
      url: `https://example.com/${name}`,
      secret: "whsec_x",
      eventTypes: ["*"],
      circuitOpenUntil,
    }));
    await db.prisma.endpoint.createMany({ data: endpoints });
    const published = { ...event(), workspaceId: ws };
    const ids = await insertEventsAndDeliveries(db.prisma, ws, now, [published]);

    const stored = await db.prisma.delivery.findMany({ where: { eventId: published.id } });
    expect(stored.map((d) => d.status)).toEqual(["PENDING", "PENDING", "PENDING"]);
    const toEnqueue = stored.filter((d) => ids.deliveryIdsToEnqueue.includes(d.id)).map((d) => d.endpointId);
    // An ended circuit not yet probed lets its deliveries through, as a worker would.
    expect(toEnqueue.sort()).toEqual([endpoints[0]!.id, endpoints[2]!.id].sort());
    expect(ids.deliveryIdsToEnqueue).toHaveLength(2);
  });
});
