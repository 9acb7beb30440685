import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inTransaction } from "../../../src/db/client.ts";
import { type Delivery, type DeliveryAttempt, Prisma } from "../../../src/db/generated/client.ts";
import { newId } from "../../../src/ids.ts";
import {
  type AttemptWrite,
  createAttemptWriter,
  createFailureCounter,
  distinctRounds,
  writeRound,
} from "../../../src/services/attemptWriter.ts";
import { successWrite } from "../../support/attemptWrites.ts";
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
      trigger: "RETRY",
      lastResponseStatus: null,
      lastError: attempt.error,
      succeededAt: null,
    },
    claimedBy: null,
  });

  it("stores a scheduled attempt but leaves the delivery alone when a replay claimed it meanwhile", async () => {
    const [asLoaded, reclaimed] = [await newDelivery(), await newDelivery()];
    const writer = createAttemptWriter(db.prisma);
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
    const [updated, skipped] = await Promise.all([
      writer.run({ ...successWrite(kept), claimedBy: { replayId: null } }),
      writer.run({ ...retry(stale, new Date()), claimedBy: { replayId: null } }),
    ]);
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
    const writer = createAttemptWriter(db.prisma);
    const okAttempt = attemptOf(a, true);
    // Text that JSON escapes comes back as it was.
    const failedAttempt = { ...attemptOf(b, false), error: 'refused: "quoted"\n\\ \u0001 ü' };
    const nextAt = new Date("2025-06-01T12:35:26.789Z");
    const [updatedA, updatedB] = await Promise.all([
      writer.run(successWrite(okAttempt)),
      writer.run(retry(failedAttempt, nextAt)),
    ]);

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
      await writeRound((query) => tx.rows<Delivery>(query), [successWrite(attemptOf(d, true))]);
      return setting();
    });
    expect(settingAfterWrite).toBe("off");
    expect(await db.prisma.delivery.findUniqueOrThrow({ where: { id: d.id } })).toMatchObject({
      status: "SUCCEEDED",
    });
  });

  it("counts two attempts of one delivery in one batch twice", async () => {
    const d = await newDelivery();
    const writer = createAttemptWriter(db.prisma);
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
      await db.prisma.endpoint.update({ where: { id: endpointId }, data: { consecutiveFailures: 4 } });
      await createAttemptWriter(db.prisma).run(write);
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
    const writer = createAttemptWriter(db.prisma);
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

  it("adds up failures per endpoint in one batch and answers each caller with the total", async () => {
    const counter = createFailureCounter(db.prisma);
    await db.prisma.endpoint.update({ where: { id: endpointId }, data: { consecutiveFailures: 5 } });
    const results = await Promise.all([
      counter.run(endpointId),
      counter.run(endpointId),
      counter.run(endpointId),
      counter.run("ep_missing"),
    ]);
    expect(results).toEqual([
      { id: endpointId, consecutiveFailures: 8, enabled: true, circuitOpenUntil: null },
      { id: endpointId, consecutiveFailures: 8, enabled: true, circuitOpenUntil: null },
      { id: endpointId, consecutiveFailures: 8, enabled: true, circuitOpenUntil: null },
      null,
    ]);
    const stored = await db.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointId } });
    expect(stored.consecutiveFailures).toBe(8);
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
