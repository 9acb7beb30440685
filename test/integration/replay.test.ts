import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelReplayDocument,
  CreateEndpointDocument,
  GetDeliveryDocument,
  GetReplayDocument,
  ListReplaysDocument,
  PublishEventsDocument,
  ReplayDeliveryDocument,
  ReplayEventsDocument,
  type ReplayEventsInput,
  type ReplayFieldsFragment,
} from "../generated/graphql.ts";
import { listDeliveries, waitForDeliveryStatus } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Behaviour, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_SPAN_DAYS = 7;

describe("replay", () => {
  let hp: TestHookpost;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        RETRY_SCHEDULE: "100ms,100ms",
        // Failures here are on purpose; no endpoint should be disabled for them.
        ENDPOINT_FAILURE_THRESHOLD: "0",
        // Receivers answer at once; only a very busy machine could time out, and a retry would add a request.
        DELIVERY_TIMEOUT_MS: "10000",
        REPLAY_MAX_SPAN_DAYS: String(MAX_SPAN_DAYS),
        REPLAY_BATCH_SIZE: "3",
        // A 429 then waits an hour: a RETRYING delivery that only a replay can hurry.
        RETRY_MIN_AFTER_THROTTLE_MS: String(HOUR_MS),
      },
    });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await hp?.stop();
  });

  /** A receiver answering 500 while `broken.value`, else 200, behind an endpoint of `client`. */
  async function endpoint(
    client: GraphqlClient,
    opts: { eventTypes?: string[]; enabled?: boolean; respond?: () => Behaviour } = {},
  ) {
    const receiver = await startReceiver(opts.respond ?? (() => ({ status: 200 })));
    receivers.push(receiver);
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: opts.eventTypes ?? ["email.*"], enabled: opts.enabled ?? true },
    });
    return { receiver, id: createEndpoint.endpoint.id, secret: createEndpoint.secret };
  }

  async function publish(client: GraphqlClient, type: string, count: number): Promise<string[]> {
    const inputs = Array.from({ length: count }, (_, i) => ({ type, data: { to: `r${i}@example.com` } }));
    const { publishEvents } = await client.ok(PublishEventsDocument, { inputs });
    return publishEvents.map((e) => e.id);
  }

  /** Pretends the events were accepted at another time. */
  async function acceptedAt(eventIds: string[], at: (index: number) => Date) {
    for (const [i, id] of eventIds.entries())
      await hp.db.prisma.event.update({ where: { id }, data: { createdAt: at(i) } });
  }

  async function waitForDeliveries(client: GraphqlClient, status: "SUCCEEDED" | "FAILED", count: number) {
    await waitFor(
      async () => (await listDeliveries(client, { status: [status] })).length === count,
      `${count} ${status} deliveries`,
    );
  }

  async function replayToEnd(client: GraphqlClient, input: ReplayEventsInput): Promise<ReplayFieldsFragment> {
    const { replayEvents } = await client.ok(ReplayEventsDocument, { input });
    return waitFor(async () => {
      const { replay } = await client.ok(GetReplayDocument, { id: replayEvents.id });
      return replay?.status === "COMPLETED" ? replay : null;
    }, `replay ${replayEvents.id} to complete`);
  }

  /** Event ids of the requests received since `from`, each verified as a Standard Webhook. */
  function verifiedEventIds(receiver: Receiver, secret: string, from: number): string[] {
    const webhook = new Webhook(secret);
    return receiver.requests.slice(from).map((req) => {
      const body = webhook.verify(req.body, req.headers as Record<string, string>) as { id: string };
      return body.id;
    });
  }

  const window = () => ({
    since: new Date(Date.now() - HOUR_MS).toISOString(),
    until: new Date(Date.now() + HOUR_MS).toISOString(),
  });

  it("replays a day's failed deliveries once the receiver is fixed, and only those", async () => {
    const { client } = await hp.newWorkspace();
    let broken = false;
    const ep = await endpoint(client, { respond: () => ({ status: broken ? 500 : 200 }) });
    const [okId] = await publish(client, "email.delivered", 1);
    await waitForDeliveries(client, "SUCCEEDED", 1);
    broken = true;
    const failedIds = await publish(client, "email.bounced", 7);
    await waitForDeliveries(client, "FAILED", 7);

    const day = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS);
    const [justBefore, atUntil, ...inDay] = failedIds as [string, string, ...string[]];
    await acceptedAt([okId!], () => new Date(day.getTime() + HOUR_MS));
    await acceptedAt(inDay, (i) => new Date(day.getTime() + (i + 2) * HOUR_MS));
    await acceptedAt([justBefore], () => new Date(day.getTime() - 1));
    await acceptedAt([atUntil], () => new Date(day.getTime() + DAY_MS));
    const input = {
      since: day.toISOString(),
      until: new Date(day.getTime() + DAY_MS).toISOString(),
      onlyFailed: true,
    };

    const stillBroken = await replayToEnd(client, input);
    expect(stillBroken).toMatchObject({ total: 5, enqueued: 5, delivered: 0, failed: 5, onlyFailed: true });
    expect(stillBroken.finishedAt).not.toBeNull();

    broken = false;
    const from = ep.receiver.requests.length;
    const fixed = await replayToEnd(client, input);
    expect(fixed.id).not.toBe(stillBroken.id);
    expect(fixed).toMatchObject({ total: 5, enqueued: 5, delivered: 5, failed: 0 });
    expect(verifiedEventIds(ep.receiver, ep.secret, from).sort()).toEqual([...inDay].sort());

    const replayed = (await listDeliveries(client, { status: ["SUCCEEDED"] })).find(
      (d) => d.event.id === inDay[0],
    );
    const { delivery } = await client.ok(GetDeliveryDocument, { id: replayed!.id });
    expect(delivery!.attempts.at(-1)).toMatchObject({ trigger: "REPLAY", succeeded: true });
    expect((await listDeliveries(client, { status: ["FAILED"] })).map((d) => d.event.id).sort()).toEqual(
      [justBefore, atUntil].sort(),
    );

    const { replays } = await client.ok(ListReplaysDocument, {});
    expect(replays.edges.map((e) => e.node.id)).toEqual([fixed.id, stillBroken.id]);
  });

  it("honours the endpoint and event-type filters, and sends to a disabled endpoint only when named", async () => {
    const { client } = await hp.newWorkspace();
    const all = await endpoint(client, { eventTypes: ["email.*"] });
    const bounces = await endpoint(client, { eventTypes: ["email.bounced"] });
    const disabled = await endpoint(client, { eventTypes: ["email.*"], enabled: false });
    const delivered = await publish(client, "email.delivered", 2);
    const bounced = await publish(client, "email.bounced", 2);
    await waitForDeliveries(client, "SUCCEEDED", 6);
    const sent = () => [all, bounces, disabled].map((e) => e.receiver.requests.length);
    const before = sent();

    const toBounces = await replayToEnd(client, { ...window(), endpointId: bounces.id });
    expect(toBounces).toMatchObject({ total: 2, delivered: 2, endpoint: { id: bounces.id } });
    expect(verifiedEventIds(bounces.receiver, bounces.secret, before[1]!).sort()).toEqual(
      [...bounced].sort(),
    );

    const onlyDelivered = await replayToEnd(client, { ...window(), eventTypes: ["email.delivered"] });
    expect(onlyDelivered).toMatchObject({ total: 2, delivered: 2, eventTypes: ["email.delivered"] });
    expect(verifiedEventIds(all.receiver, all.secret, before[0]!).sort()).toEqual([...delivered].sort());

    const named = await replayToEnd(client, { ...window(), endpointId: disabled.id });
    expect(named).toMatchObject({ total: 4, delivered: 4 });
    expect(verifiedEventIds(disabled.receiver, disabled.secret, before[2]!).sort()).toEqual(
      [...delivered, ...bounced].sort(),
    );

    const nothing = await replayToEnd(client, {
      ...window(),
      endpointId: bounces.id,
      eventTypes: ["email.delivered"],
    });
    expect(nothing).toMatchObject({ total: 0, enqueued: 0 });
    expect(sent()).toEqual([before[0]! + 2, before[1]! + 2, before[2]! + 4]);
  });

  it("sends a RETRYING delivery now instead of at its scheduled retry", async () => {
    const { client } = await hp.newWorkspace();
    let throttled = true;
    const ep = await endpoint(client, { respond: () => ({ status: throttled ? 429 : 200 }) });
    const [eventId] = await publish(client, "email.sent", 1);
    const [waiting] = await waitFor(async () => {
      const rows = await listDeliveries(client, { status: ["RETRYING"] });
      return rows.length === 1 ? rows : null;
    }, "a RETRYING delivery");
    expect(new Date(waiting!.nextAttemptAt!).getTime()).toBeGreaterThan(Date.now() + HOUR_MS / 2);

    throttled = false;
    const replay = await replayToEnd(client, window());
    expect(replay).toMatchObject({ total: 1, delivered: 1 });
    const done = await waitForDeliveryStatus(client, waiting!.id, "SUCCEEDED");
    expect(done.attempts.map((a) => a.trigger)).toEqual(["SCHEDULED", "REPLAY"]);
    expect(verifiedEventIds(ep.receiver, ep.secret, 1)).toEqual([eventId]);
  });

  it("replayDelivery sends one delivery again now as a MANUAL attempt, whatever its status", async () => {
    const { client } = await hp.newWorkspace();
    let broken = true;
    const ep = await endpoint(client, { respond: () => ({ status: broken ? 500 : 200 }) });
    await publish(client, "email.opened", 1);
    await waitForDeliveries(client, "FAILED", 1);
    const [failed] = await listDeliveries(client, { status: ["FAILED"] });

    broken = false;
    const { replayDelivery: fixed } = await client.ok(ReplayDeliveryDocument, { id: failed!.id });
    expect(fixed).toMatchObject({ id: failed!.id, status: "SUCCEEDED", attemptCount: 4 });
    const { replayDelivery: again } = await client.ok(ReplayDeliveryDocument, { id: failed!.id });
    expect(again).toMatchObject({ status: "SUCCEEDED", attemptCount: 5 });

    const { delivery } = await client.ok(GetDeliveryDocument, { id: failed!.id });
    expect(delivery!.attempts.map((a) => a.trigger)).toEqual([
      "SCHEDULED",
      "RETRY",
      "RETRY",
      "MANUAL",
      "MANUAL",
    ]);
    expect(verifiedEventIds(ep.receiver, ep.secret, 0)).toEqual(Array(5).fill(failed!.event.id));

    const other = await hp.newWorkspace();
    expect(await other.client.fails(ReplayDeliveryDocument, { id: failed!.id })).toMatchObject({
      code: "NOT_FOUND",
    });
    expect(ep.receiver.requests).toHaveLength(5);
  });

  it("keeps workspaces apart", async () => {
    const a = await hp.newWorkspace();
    const ep = await endpoint(a.client);
    await publish(a.client, "email.clicked", 2);
    await waitForDeliveries(a.client, "SUCCEEDED", 2);
    const replayOfA = await replayToEnd(a.client, window());
    const sentToA = ep.receiver.requests.length;

    const b = await hp.newWorkspace();
    expect(
      await b.client.fails(ReplayEventsDocument, { input: { ...window(), endpointId: ep.id } }),
    ).toMatchObject({
      code: "NOT_FOUND",
    });
    expect((await b.client.ok(GetReplayDocument, { id: replayOfA.id })).replay).toBeNull();
    expect((await b.client.ok(ListReplaysDocument, {})).replays.edges).toEqual([]);
    expect(await b.client.fails(CancelReplayDocument, { id: replayOfA.id })).toMatchObject({
      code: "NOT_FOUND",
    });
    expect(await listDeliveries(b.client)).toEqual([]);

    const ofB = await replayToEnd(b.client, window());
    expect(ofB).toMatchObject({ total: 0, enqueued: 0 });
    expect(ep.receiver.requests).toHaveLength(sentToA);
    expect((await a.client.ok(GetReplayDocument, { id: replayOfA.id })).replay).toMatchObject({ total: 2 });
  });

  it("rejects bad input with clear codes", async () => {
    const { client } = await hp.newWorkspace();
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms).toISOString();
    const bad = (input: ReplayEventsInput) => client.fails(ReplayEventsDocument, { input });

    expect(await bad({ since: at(0), until: at(0) })).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(await bad({ since: at(0), until: at(-1) })).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(await bad({ since: at(-MAX_SPAN_DAYS * DAY_MS - 1), until: at(0) })).toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringContaining(`${MAX_SPAN_DAYS} days`),
    });
    expect(await bad({ ...window(), endpointId: "ep_unknown" })).toMatchObject({ code: "NOT_FOUND" });
    expect(await bad({ ...window(), eventTypes: ["email.nope"] })).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(await client.fails(CancelReplayDocument, { id: "rpl_unknown" })).toMatchObject({
      code: "NOT_FOUND",
    });
    expect((await client.ok(ListReplaysDocument, {})).replays.edges).toEqual([]);

    const exactly = await replayToEnd(client, { since: at(-MAX_SPAN_DAYS * DAY_MS), until: at(0) });
    expect(exactly.status).toBe("COMPLETED");
  });
});
