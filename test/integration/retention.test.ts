import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateEndpointDocument, GetEventDocument, PublishEventsDocument } from "../generated/graphql.ts";
import { listDeliveries } from "../support/deliveries.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const DAY_MS = 86_400_000;
const RETENTION_DAYS = 7;

describe("retention", () => {
  let hp: TestHookpost;
  let receiver: Receiver;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: { RETENTION_DAYS: String(RETENTION_DAYS), RETENTION_INTERVAL_MS: "1000" },
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await hp?.stop();
  });

  const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS);

  it("prunes attempts and events older than the retention period, on a schedule, and keeps the rest", async () => {
    const { client } = hp.workspace;
    const { prisma } = hp.db;
    await client.ok(CreateEndpointDocument, { input: { url: receiver.url, eventTypes: ["*"] } });
    const { publishEvents } = await client.ok(PublishEventsDocument, {
      inputs: Array.from({ length: 5 }, (_, i) => ({ type: "email.delivered", data: { n: i } })),
    });
    const [oldA, oldB, oldAttemptOnly, recent, sixDaysOld] = publishEvents.map((e) => e.id) as [
      string,
      string,
      string,
      string,
      string,
    ];
    await waitFor(
      async () => (await listDeliveries(client, { status: ["SUCCEEDED"] })).length === 5,
      "every delivery",
    );
    await prisma.event.updateMany({ where: { id: { in: [oldA, oldB] } }, data: { createdAt: daysAgo(10) } });
    await prisma.event.update({
      where: { id: sixDaysOld },
      data: { createdAt: daysAgo(RETENTION_DAYS - 1) },
    });
    await prisma.deliveryAttempt.updateMany({
      where: { eventId: { in: [oldA, oldB, oldAttemptOnly] } },
      data: { createdAt: daysAgo(10) },
    });
    const attemptsOf = (eventId: string) => prisma.deliveryAttempt.count({ where: { eventId } });
    const eventExists = async (id: string) => (await client.ok(GetEventDocument, { id })).event !== null;
    // At least one each (a slow machine may have retried a send); pruning must leave them all.
    const keptAttempts = [await attemptsOf(recent), await attemptsOf(sixDaysOld)];
    expect(Math.min(...keptAttempts)).toBeGreaterThan(0);

    await waitFor(
      async () =>
        !(await eventExists(oldA)) && !(await eventExists(oldB)) && (await attemptsOf(oldAttemptOnly)) === 0,
      "old events and attempts to be pruned",
    );
    expect(await prisma.delivery.count({ where: { eventId: { in: [oldA, oldB] } } })).toBe(0);
    expect((await client.ok(GetEventDocument, { id: oldAttemptOnly })).event?.deliveries).toHaveLength(1);
    expect([await eventExists(recent), await eventExists(sixDaysOld)]).toEqual([true, true]);
    expect([await attemptsOf(recent), await attemptsOf(sixDaysOld)]).toEqual(keptAttempts);

    // It keeps running: what ages later is pruned on a later run.
    await prisma.event.update({ where: { id: recent }, data: { createdAt: daysAgo(RETENTION_DAYS + 1) } });
    await waitFor(async () => !(await eventExists(recent)), "a later run to prune the newly old event");
    expect(await eventExists(sixDaysOld)).toBe(true);
  });
});
