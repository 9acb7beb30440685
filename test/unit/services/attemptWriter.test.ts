import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../../../src/db/client.ts";
import { type DeliveryAttempt, Prisma } from "../../../src/db/generated/client.ts";
import { newId } from "../../../src/ids.ts";
import {
  type AttemptWrite,
  createAttemptWriter,
  distinctRounds,
  type WrittenRow,
  writeRound,
} from "../../../src/services/attemptWriter.ts";
import { DEFAULT_HEALTH_POLICY, successWrite } from "../../support/attemptWrites.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";

/** The batched writers against a real PostgreSQL: what they write must read back through Prisma unchanged. */
describe("attemptWriter", () => {
  let db: TestDatabase;
  let workspaceId: string;
  let endpointId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    workspaceId = newId("workspace");
    endpointId = newId("endpoint");
    await db.prisma.workspace.create({ data: { id: workspaceId, name: "w" } });
    await db.prisma.endpoint.create({
      data: {
        id: endpointId,
        workspaceId,
        url: "https://example.com/hook",
        eventTypes: ["*"],
        secret: "whsec_x",
      },
    });
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function newDelivery() {
    const event = await db.prisma.event.create({
      data: {
        id: newId("event"),
        workspaceId,
        type: "email.sent",
        payload: { a: 1 },
        occurredAt: new Date(),
      },
    });
    return db.prisma.delivery.create({
      data: {
        id: newId("delivery"),
        workspaceId,
        eventId: event.id,
        endpointId,
        eventType: event.type,
        nextAttemptAt: new Date(),
        lastError: "earlier error",
        succeededAt: new Date("2025-01-01T10:00:00.123Z"),
      },
    });
  }

  function attemptOf(
    delivery: { id: string; eventId: string },
    ok: boolean,
    at = new Date("2025-06-01T12:34:56.789Z"),
  ): DeliveryAttempt {
    return {
      id: newId("attempt"),
      workspaceId,
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      endpointId,
      number: 1,
      trigger: "SCHEDULED",
      url: "https://example.com/hook",
      requestHeaders: { "webhook-id": delivery.eventId, "content-type": "application/json" },
      responseStatus: ok ? 200 : null,
      responseHeaders: ok ? { "content-type": "text/plain" } : null,
      responseBody: ok ? '{"ok":true,"é":"ü"}' : null,
      error: ok ? null : "timed out after 2000 ms",
      durationMs: 12,
      succeeded: ok,
      startedAt: new Date(at.getTime() - 12),
      createdAt: at,
    };
  }

  const retry = (attempt: DeliveryAttempt, nextAttemptAt: Date): AttemptWrite => ({
    attempt,
    change: {
      status: "RETRYING",
      retryStep: 1,
      nextAttemptAt,
      firstAttemptAt: attempt.startedAt,
      trigger: "RETRY",
      lastResponseStatus: null,
      lastError: attempt.error,
      succeededAt: null,
    },
    failedForGood: false,
    claimedBy: null,
  });

  it("stores a scheduled attempt but leaves the delivery alone when a replay claimed it meanwhile", async () => {
    const [asLoaded, reclaimed] = [await newDelivery(), await newDelivery()];
    const writer = createAttemptWriter(db.prisma, DEFAULT_HEALTH_POLICY);
    const kept = attemptOf(asLoaded, true);
    const stale = attemptOf(reclaimed, false);
    // Both were loaded belonging to no replay; a replay has claimed the second since.
    const newer = await db.prisma.replay.create({
      data: { id: newId("replay"), workspaceId, since: new Date(0), until: new Date(), filterKey: "k" },
    });
    await db.prisma.delivery.update({
      where: { id: reclaimed.id },
      data: { replayId: newer.id, status: "PENDING" },
    });
    const [updated, skipped] = (
      await Promise.all([
        writer.run({ ...successWrite(kept), claimedBy: { replayId: null } }),
        writer.run({ ...retry(stale, new Date()), claimedBy: { replayId: null } }),
      ])
    ).map((r) => r.delivery);
    expect(updated).toMatchObject({ id: asLoaded.id, status: "SUCCEEDED", attempts: 1 });
    expect(skipped).toBeNull();
    expect(await db.prisma.delivery.findUnique({ where: { id: reclaimed.id } })).toMatchObject({
      status: "PENDING",
      replayId: newer.id,
      attempts: 0,
    });
    expect(await db.prisma.deliveryAttempt.count({ where: { id: { in: [kept.id, stale.id] } } })).toBe(2);
  });

  it("writes a batch of attempts and delivery states that read back exactly", async () => {
    const [a, b] = [await newDelivery(), await newDelivery()];
    const writer = createAttemptWriter(db.prisma, DEFAULT_HEALTH_POLICY);
    const okAttempt = attemptOf(a, true);
    // Text that JSON escapes comes back as it was.
    const failedAttempt = { ...attemptOf(b, false), error: 'refused: "quoted"\n\\ \u0001 ü' };
    const nextAt = new Date("2025-06-01T12:35:26.789Z");
    const [updatedA, updatedB] = (
      await Promise.all([writer.run(successWrite(okAttempt)), writer.run(retry(failedAttempt, nextAt))])
    ).map((r) => r.delivery);

    const stored = await db.prisma.deliveryAttempt.findMany({
      where: { id: { in: [okAttempt.id, failedAttempt.id] } },
    });
    expect(stored.find((s) => s.id === okAttempt.id)).toEqual(okAttempt);
    expect(stored.find((s) => s.id === failedAttempt.id)).toEqual(failedAttempt);
    // No response headers are stored as NULL, not as a JSON null (which Prisma reads back as null too).
    const [headers] = await db.prisma.$queryRaw<{ missing: boolean }[]>`
      SELECT "responseHeaders" IS NULL AS missing FROM "DeliveryAttempt" WHERE "id" = ${failedAttempt.id}`;
    expect(headers).toEqual({ missing: true });

    // What the writer returns is the row as Prisma reads it.
    expect(updatedA).toEqual(await db.prisma.delivery.findUnique({ where: { id: a.id } }));
    expect(updatedB).toEqual(await db.prisma.delivery.findUnique({ where: { id: b.id } }));
    expect(updatedA).toMatchObject({
      status: "SUCCEEDED",
      attempts: 1,
      lastAttemptAt: okAttempt.createdAt,
      lastError: null,
      lastResponseStatus: 200,
      succeededAt: okAttempt.createdAt,
      updatedAt: okAttempt.createdAt,
    });
    // A failed attempt keeps the delivery's earlier succeededAt.
    expect(updatedB).toMatchObject({
      status: "RETRYING",
      trigger: "RETRY",
      retryStep: 1,
      attempts: 1,
      nextAttemptAt: nextAt,
      lastError: failedAttempt.error,
      lastResponseStatus: null,
      succeededAt: b.succeededAt,
    });
  });

  it("commits its transaction without waiting for the WAL flush", async () => {
    const d = await newDelivery();
    const settingAfterWrite = await inTransaction(db.prisma, async (tx) => {
      const setting = async () =>
        (
          await tx.rows<{ value: string }>(Prisma.sql`SELECT current_setting('synchronous_commit') AS value`)
        )[0]!.value;
      expect(await setting()).toBe("on");
      await writeRound(
        (query) => tx.rows<WrittenRow>(query),
        [successWrite(attemptOf(d, true))],
        DEFAULT_HEALTH_POLICY,
      );
      return setting();
    });
    expect(settingAfterWrite).toBe("off");
    expect(await db.prisma.delivery.findUniqueOrThrow({ where: { id: d.id } })).toMatchObject({
      status: "SUCCEEDED",
    });
  });

  it("counts two attempts of one delivery in one batch twice", async () => {
    const d = await newDelivery();
    const writer = createAttemptWriter(db.prisma, DEFAULT_HEALTH_POLICY);
    const first = attemptOf(d, false);
    const second = attemptOf(d, true, new Date("2025-06-01T12:40:00.000Z"));
    await Promise.all([writer.run(retry(first, new Date())), writer.run(successWrite(second))]);
    const after = await db.prisma.delivery.findUniqueOrThrow({ where: { id: d.id } });
    expect(after.attempts).toBe(2);
    expect(after.status).toBe("SUCCEEDED");
    expect(await db.prisma.deliveryAttempt.count({ where: { deliveryId: d.id } })).toBe(2);
  });

  it("restarts the endpoint's failure count with a success, not with a failure or a test send", async () => {
    const failuresAfter = async (write: AttemptWrite) => {
      await db.prisma.endpoint.update({
        where: { id: endpointId },
        data: { consecutiveFailures: 4, failedAttemptsInRow: 0, failingSince: null, circuitOpenUntil: null },
      });
      await createAttemptWriter(db.prisma, DEFAULT_HEALTH_POLICY).run(write);
      return (await db.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointId } })).consecutiveFailures;
    };
    const testSend = successWrite(attemptOf(await newDelivery(), true));
    testSend.attempt.trigger = "TEST";
    expect(await failuresAfter(retry(attemptOf(await newDelivery(), false), new Date()))).toBe(4);
    expect(await failuresAfter(testSend)).toBe(4);
    expect(await failuresAfter(successWrite(attemptOf(await newDelivery(), true)))).toBe(0);
  });

  it("fails only the attempt whose delivery is gone; the rest of its batch is written", async () => {
    const [kept, deleted] = [await newDelivery(), await newDelivery()];
    await db.prisma.delivery.delete({ where: { id: deleted.id } });
    const writer = createAttemptWriter(db.prisma, DEFAULT_HEALTH_POLICY);
    const keptAttempt = attemptOf(kept, true);
    const outcomes = await Promise.allSettled([
      writer.run(successWrite(keptAttempt)),
      writer.run(successWrite(attemptOf(deleted, true))),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected"]);
    expect(await db.prisma.deliveryAttempt.findUnique({ where: { id: keptAttempt.id } })).toEqual(
      keptAttempt,
    );
  });

  describe("endpoint health, decided as attempts are recorded", () => {
    const policy = { ...DEFAULT_HEALTH_POLICY, circuitFailureThreshold: 3, disableAfterFailedDeliveries: 2 };
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const healthy = {
      consecutiveFailures: 0,
      failedAttemptsInRow: 0,
      failingSince: null,
      circuitOpenUntil: null,
    };

    async function freshEndpoint(data: Prisma.EndpointUpdateInput = {}) {
      const id = newId("endpoint");
      await db.prisma.endpoint.create({
        data: { id, workspaceId, url: "https://example.com/h", eventTypes: ["*"], secret: "whsec_x" },
      });
      await db.prisma.endpoint.update({ where: { id }, data });
      return id;
    }
    async function write(endpoint: string, outcomes: ("ok" | "fail" | "exhausted" | "gone")[], from = 0) {
      const writes: AttemptWrite[] = [];
      for (const [i, outcome] of outcomes.entries()) {
        const d = await newDelivery();
        await db.prisma.delivery.update({ where: { id: d.id }, data: { endpointId: endpoint } });
        const attempt = { ...attemptOf(d, outcome === "ok", at(from + i)), endpointId: endpoint };
        if (outcome === "gone") attempt.responseStatus = 410;
        const w = outcome === "ok" ? successWrite(attempt) : retry(attempt, new Date());
        w.failedForGood = outcome === "exhausted" || outcome === "gone";
        writes.push(w);
      }
      const writer = createAttemptWriter(db.prisma, policy);
      return Promise.all(writes.map((w) => writer.run(w)));
    }
    const stored = (id: string) => db.prisma.endpoint.findUniqueOrThrow({ where: { id } });

    // Each row: attempts in record order (one batch) → the endpoint's health after them.
    const cases: [string, ("ok" | "fail" | "exhausted" | "gone")[], Record<string, unknown>][] = [
      ["failures after a success count from it", ["fail", "fail", "ok", "fail"], { failedAttemptsInRow: 1 }],
      ["a success last restarts every count", ["fail", "exhausted", "ok"], healthy],
      ["a retry that fails is not a failed delivery", ["fail", "fail"], { consecutiveFailures: 0 }],
      [
        "failed deliveries count in a row",
        ["exhausted", "exhausted"],
        { consecutiveFailures: 2, enabled: false },
      ],
      [
        "410 Gone disables at once",
        ["gone"],
        { enabled: false, disabledReason: "the endpoint answered 410 Gone" },
      ],
    ];
    for (const [name, outcomes, expected] of cases) {
      it(name, async () => {
        const id = await freshEndpoint();
        await write(id, outcomes);
        expect(await stored(id)).toMatchObject(expected);
      });
    }

    it("opens the circuit once at the threshold and hands the change to one write", async () => {
      const id = await freshEndpoint();
      const recorded = await write(id, ["fail", "fail", "fail", "fail"], 10);
      const changes = recorded.map((r) => r.health).filter((h) => h !== null);
      expect(changes).toEqual([
        {
          endpointId: id,
          circuitOpenedUntil: new Date(at(13).getTime() + policy.circuitCooldownMs),
          circuitClosedFrom: null,
          disabledReason: null,
          failedAttemptsInRow: 4,
          consecutiveFailures: 0,
        },
      ]);
      // A later success closes it, once, saying until when it was open.
      const [closing] = await write(id, ["ok"], 20);
      expect(closing!.health).toMatchObject({ circuitClosedFrom: changes[0]!.circuitOpenedUntil });
      expect(await stored(id)).toMatchObject(healthy);
    });

    it("adds concurrent batches in the order they commit, never more than were recorded", async () => {
      const id = await freshEndpoint();
      await Promise.all([write(id, ["fail", "fail"]), write(id, ["fail"]), write(id, ["fail", "fail"])]);
      expect(await stored(id)).toMatchObject({ failedAttemptsInRow: 5 });
      await Promise.all([write(id, ["ok"]), write(id, ["ok", "fail"])]);
      expect((await stored(id)).failedAttemptsInRow).toBeLessThanOrEqual(1);
    });

    it("disables an endpoint that has failed with no success for ENDPOINT_DISABLE_AFTER", async () => {
      const id = await freshEndpoint({ failedAttemptsInRow: 1, failingSince: at(0) });
      const writer = createAttemptWriter(db.prisma, { ...policy, disableAfterMs: 60_000 });
      const d = await newDelivery();
      await db.prisma.delivery.update({ where: { id: d.id }, data: { endpointId: id } });
      const attempt = { ...attemptOf(d, false, at(61)), endpointId: id };
      const { health } = await writer.run(retry(attempt, new Date()));
      expect(health?.disabledReason).toBe("no successful attempt for 1 minute while failing");
      expect(await stored(id)).toMatchObject({ enabled: false, failingSince: at(0) });
    });

    it("leaves test sends out of the endpoint's health", async () => {
      const id = await freshEndpoint();
      const d = await newDelivery();
      const attempt = { ...attemptOf(d, false), endpointId: id, trigger: "TEST" as const };
      await createAttemptWriter(db.prisma, policy).run(retry(attempt, new Date()));
      expect(await stored(id)).toMatchObject(healthy);
    });
  });
});

describe("distinctRounds", () => {
  it("puts the n-th item of each key in round n, keeping order", () => {
    expect(distinctRounds(["a1", "b1", "a2", "c1", "a3", "b2"], (s) => s[0]!)).toEqual([
      ["a1", "b1", "c1"],
      ["a2", "b2"],
      ["a3"],
    ]);
  });
});
