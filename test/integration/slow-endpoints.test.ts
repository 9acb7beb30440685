import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateEndpointDocument, PublishEventDocument } from "../generated/graphql.ts";
import { receivedOf } from "../support/eventRequests.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { sleep, waitFor } from "../support/wait.ts";

/**
 * A receiver that hangs must not hold up deliveries to others: once its
 * origin is slow and its connections are all busy, its further deliveries
 * wait in Redis instead of taking the worker's slots.
 */
describe("a slow endpoint", () => {
  let hp: TestHookpost;
  let slow: Receiver;
  let healthy: Receiver;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        // Four slots, two connections per origin: without deferral, two hanging attempts
        // plus two more waiting for a connection would fill every slot.
        WORKER_CONCURRENCY: "4",
        DELIVERY_WORKERS: "1",
        OUTBOUND_CONNECTIONS_PER_ORIGIN: "2",
        DELIVERY_TIMEOUT_MS: "6000",
        RETRY_SCHEDULE: "100ms",
      },
    });
    slow = await startReceiver(() => "hang");
    healthy = await startReceiver();
  });
  afterAll(async () => {
    await hp?.stop();
    await Promise.all([slow?.close(), healthy?.close()]);
  });

  it("does not hold up another endpoint's deliveries, and gets its own later", async () => {
    const { client, id: workspaceId } = await hp.newWorkspace();
    const subscribe = async (url: string, eventTypes: string[]) =>
      (await client.ok(CreateEndpointDocument, { input: { url, eventTypes } })).createEndpoint.endpoint.id;
    const slowEndpointId = await subscribe(slow.url, ["email.bounced"]);
    await subscribe(healthy.url, ["email.delivered"]);
    const publish = async (type: string) =>
      (await client.ok(PublishEventDocument, { input: { type, data: {} } })).publishEvent.id;

    const publishSlow = (n: number) => Promise.all(Array.from({ length: n }, () => publish("email.bounced")));
    const slowEvents = await publishSlow(2);
    await waitFor(() => receivedOf(slow, ...slowEvents).length === 2, "both slow connections to be in use");
    await sleep(700); // the receiver is now slow as well as busy
    slowEvents.push(...(await publishSlow(4)));
    const healthyEvent = await publish("email.delivered");
    await waitFor(() => receivedOf(healthy, healthyEvent).length === 1, "the healthy endpoint's delivery");

    // It arrived while the slow receiver still held its first two requests: no slow attempt has ended.
    expect(await hp.db.prisma.deliveryAttempt.count({ where: { endpointId: slowEndpointId } })).toBe(0);
    expect(receivedOf(slow, ...slowEvents)).toHaveLength(2);

    // The deferred ones were only postponed: once the receiver answers, each is delivered.
    slow.setBehaviour(() => ({ status: 200 }));
    await waitFor(
      async () =>
        (await hp.db.prisma.delivery.count({
          where: { workspaceId, eventId: { in: slowEvents }, status: "SUCCEEDED" },
        })) === 6,
      "every slow delivery to succeed",
      30_000,
    );
  });
});
