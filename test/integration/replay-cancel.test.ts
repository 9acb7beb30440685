import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelReplayDocument,
  CreateEndpointDocument,
  GetReplayDocument,
  PublishEventDocument,
  PublishEventsDocument,
  ReplayEventsDocument,
} from "../generated/graphql.ts";
import { listDeliveries } from "../support/deliveries.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const EVENTS = 30;
/** The worker's slots: the receiver holds that many requests open while the test cancels. */
const CONCURRENCY = 2;
/**
 * Attempts that can be in flight at once: an attempt whose receiver is silent
 * for 500 ms sets its slot aside for another, up to as many as there are
 * slots (src/backpressure/deliverySlots.ts), and a slow host reaches that before
 * the cancel.
 */
const MAX_IN_FLIGHT = 2 * CONCURRENCY;
/** Several batches, so a cancel can land mid-walk; each holds more than can be in flight. */
const BATCH = 10;

describe("cancelling a replay", () => {
  let hp: TestHookpost;
  let receiver: Receiver;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        WORKER_CONCURRENCY: String(CONCURRENCY),
        DELIVERY_TIMEOUT_MS: "3000",
        RETRY_SCHEDULE: "100ms",
        REPLAY_BATCH_SIZE: String(BATCH),
        ENDPOINT_FAILURE_THRESHOLD: "0",
      },
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await hp?.stop();
  });

  // Held requests time out before the deliveries settle; a slow machine needs more than the default.
  it("returns the running replay for the same request, and stops further sends when cancelled", {
    timeout: 90_000,
  }, async () => {
    const { client } = hp.workspace;
    await client.ok(CreateEndpointDocument, { input: { url: receiver.url, eventTypes: ["email.*"] } });
    const inputs = Array.from({ length: EVENTS }, (_, i) => ({ type: "email.sent", data: { n: i } }));
    await client.ok(PublishEventsDocument, { inputs });
    await waitFor(
      async () => (await listDeliveries(client, { status: ["SUCCEEDED"] })).length === EVENTS,
      "the first deliveries",
    );
    const beforeReplay = receiver.requests.length;
    receiver.setBehaviour(() => "hang");

    const input = {
      since: new Date(Date.now() - 3_600_000).toISOString(),
      until: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const { replayEvents: replay } = await client.ok(ReplayEventsDocument, { input });
    await waitFor(
      () => receiver.requests.length >= beforeReplay + CONCURRENCY,
      "replayed requests in flight",
    );

    const { replayEvents: again } = await client.ok(ReplayEventsDocument, { input });
    expect(again.id).toBe(replay.id);
    const { replayEvents: otherFilters } = await client.ok(ReplayEventsDocument, {
      input: { ...input, onlyFailed: true },
    });
    expect(otherFilters.id).not.toBe(replay.id);

    const { cancelReplay: cancelled } = await client.ok(CancelReplayDocument, { id: replay.id });
    const sentAtCancel = receiver.requests.length;
    expect(cancelled).toMatchObject({ id: replay.id, status: "CANCELLED" });
    expect(cancelled.finishedAt).not.toBeNull();
    receiver.setBehaviour(() => ({ status: 200 }));

    // The requests held open time out, their retries find the replay cancelled, and
    // a fresh event queued behind the cancelled jobs gets through.
    await waitFor(
      async () => (await listDeliveries(client, { status: ["PENDING", "RETRYING"] })).length === 0,
      "no replayed delivery left to send",
    );
    const { publishEvent: probe } = await client.ok(PublishEventDocument, {
      input: { type: "email.sent", data: { probe: true } },
    });
    await waitFor(() => receiver.requests.some((r) => r.body.includes(probe.id)), "the probe event");

    const replayedAfterCancel = receiver.requests
      .slice(sentAtCancel)
      .filter((r) => !r.body.includes(probe.id)).length;
    // Only what was already being sent when cancel ran may still arrive.
    expect(replayedAfterCancel).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(receiver.requests.length - beforeReplay).toBeLessThan(EVENTS);
    // The walk stopped too: the total claimed when cancel ran did not grow after it.
    const { replay: after } = await client.ok(GetReplayDocument, { id: replay.id });
    expect(after).toMatchObject({ status: "CANCELLED", total: cancelled.total });
    expect(after!.enqueued).toBeLessThanOrEqual(after!.total);
    const cancelledDeliveries = await listDeliveries(client, { status: ["CANCELLED"] });
    expect(after!.total).toBeGreaterThanOrEqual(BATCH);
    expect(cancelledDeliveries.length).toBeGreaterThanOrEqual(after!.total - MAX_IN_FLIGHT);

    const { replayEvents: fresh } = await client.ok(ReplayEventsDocument, { input });
    expect(fresh.id).not.toBe(replay.id);
    const done = await waitFor(async () => {
      const { replay: r } = await client.ok(GetReplayDocument, { id: fresh.id });
      return r?.status === "COMPLETED" ? r : null;
    }, "the fresh replay to complete");
    expect(done).toMatchObject({ total: EVENTS + 1, delivered: EVENTS + 1, failed: 0 });
  });
});
