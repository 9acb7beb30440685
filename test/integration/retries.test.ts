import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  GetEndpointDocument,
  GetEventDocument,
  ListEventsDocument,
  PublishEventDocument,
  PublishEventsDocument,
  TestEndpointDocument,
} from "../generated/graphql.ts";
import { deliveryOf, listDeliveries, waitForDeliveryStatus } from "../support/deliveries.ts";
import { firstAttemptPerEvent, requestsFor } from "../support/eventRequests.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Behaviour, type ReceivedRequest, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

/** Two retries, so a delivery gets three attempts; five consecutive failures disable an endpoint. */
const SCHEDULE = ["100ms", "100ms"];
const FAILURE_THRESHOLD = 5;
/** Short enough for the hang test, long enough for a loaded 2-core machine's first (cold) request. */
const TIMEOUT_MS = 2_000;

describe("retries, timeouts and endpoint health", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  const receivers: Receiver[] = [];

  async function endpointAnswering(respond: (req: ReceivedRequest, index: number) => Behaviour) {
    const receiver = await startReceiver(respond);
    receivers.push(receiver);
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["*"] },
    });
    return { receiver, endpointId: createEndpoint.endpoint.id };
  }

  async function publishTo(endpointId: string) {
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.delivered", data: { to: "a@example.com" } },
    });
    return deliveryOf(client, publishEvent.id, endpointId);
  }

  const endpoint = async (id: string) => (await client.ok(GetEndpointDocument, { id })).endpoint!;
  const disabledEndpoint = (id: string) =>
    waitFor(async () => {
      const e = await endpoint(id);
      return e.enabled ? null : e;
    }, `endpoint ${id} to be disabled`);

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        RETRY_SCHEDULE: SCHEDULE.join(","),
        ENDPOINT_FAILURE_THRESHOLD: String(FAILURE_THRESHOLD),
        DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
  });
  // A workspace per test: events fan out to every "*" endpoint of a workspace, and
  // each test counts the failures of its own endpoints only.
  beforeEach(async () => {
    client = (await hp.newWorkspace()).client;
  });
  afterAll(async () => {
    await hp?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("retries a 500 and succeeds on the 200, logging both attempts", async () => {
    const { endpointId } = await endpointAnswering(
      firstAttemptPerEvent({ status: 500, body: "try later" }, { status: 200, body: "thanks" }),
    );
    const { id } = await publishTo(endpointId);
    const delivery = await waitForDeliveryStatus(client, id, "SUCCEEDED");

    expect(delivery.attemptCount).toBe(2);
    expect(delivery.lastResponseStatus).toBe(200);
    expect(delivery.attempts).toMatchObject([
      { number: 1, trigger: "SCHEDULED", succeeded: false, responseStatus: 500, responseBody: "try later" },
      { number: 2, trigger: "RETRY", succeeded: true, responseStatus: 200, responseBody: "thanks" },
    ]);
    // Endpoint health is updated just after the attempt is recorded.
    await waitFor(
      async () => (await endpoint(endpointId)).consecutiveFailures === 0,
      "the failure count reset",
    );
  });

  it("fails a delivery after the last step of the schedule", async () => {
    const { receiver, endpointId } = await endpointAnswering(() => ({ status: 500 }));
    const { id, event } = await publishTo(endpointId);
    const delivery = await waitForDeliveryStatus(client, id, "FAILED");

    expect(delivery.attemptCount).toBe(SCHEDULE.length + 1);
    expect(delivery.attempts.map((a) => [a.number, a.trigger, a.responseStatus])).toEqual([
      [1, "SCHEDULED", 500],
      [2, "RETRY", 500],
      [3, "RETRY", 500],
    ]);
    expect(delivery.nextAttemptAt).toBeNull();
    expect(requestsFor(receiver, event.id)).toHaveLength(SCHEDULE.length + 1);
  });

  it("fails an attempt at the timeout when the receiver hangs, then retries", async () => {
    const { endpointId } = await endpointAnswering(firstAttemptPerEvent("hang"));
    const { id } = await publishTo(endpointId);
    const delivery = await waitForDeliveryStatus(client, id, "SUCCEEDED");

    const [timedOut, retried] = delivery.attempts;
    expect(timedOut).toMatchObject({ number: 1, succeeded: false, responseStatus: null });
    expect(timedOut!.error).toMatch(/timed out/);
    expect(timedOut!.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(retried).toMatchObject({ number: 2, trigger: "RETRY", succeeded: true, responseStatus: 200 });
  });

  it("treats a redirect as a failure and does not follow it", async () => {
    const target = await startReceiver();
    receivers.push(target);
    const { endpointId } = await endpointAnswering(() => ({
      status: 302,
      headers: { location: target.url },
    }));
    const { id, event } = await publishTo(endpointId);
    const delivery = await waitForDeliveryStatus(client, id, "FAILED");

    expect(delivery.attempts.length).toBeGreaterThan(0);
    for (const attempt of delivery.attempts) {
      expect(attempt).toMatchObject({ succeeded: false, responseStatus: 302 });
      expect(attempt.error).toMatch(/redirect/);
    }
    expect(requestsFor(target, event.id)).toHaveLength(0);
  });

  it("disables the endpoint at once on 410 Gone", async () => {
    const { receiver, endpointId } = await endpointAnswering(() => ({ status: 410 }));
    const { id, event } = await publishTo(endpointId);
    const delivery = await waitForDeliveryStatus(client, id, "FAILED");

    expect(delivery.attemptCount).toBe(1);
    expect(requestsFor(receiver, event.id)).toHaveLength(1);
    const disabled = await disabledEndpoint(endpointId);
    expect(disabled.disabledReason).toMatch(/410/);
  });

  it("disables an endpoint after consecutive failures and stops sending to it", async () => {
    const { receiver, endpointId } = await endpointAnswering(() => ({ status: 503 }));
    // Enough failing deliveries to cross the threshold however failures are counted, published
    // in one batch so that all of them are made while the endpoint is still enabled.
    await client.ok(PublishEventsDocument, {
      inputs: Array.from({ length: FAILURE_THRESHOLD }, (_, n) => ({ type: "email.sent", data: { n } })),
    });
    const disabled = await disabledEndpoint(endpointId);
    expect(disabled.disabledReason).toMatch(/consecutive/);
    expect(disabled.consecutiveFailures).toBeGreaterThanOrEqual(FAILURE_THRESHOLD);

    // Every delivery settles (exhausted, or failed because the endpoint is now disabled).
    await waitFor(async () => {
      const rows = await listDeliveries(client, { endpointId });
      return rows.every((d) => d.status === "FAILED");
    }, "every delivery to the disabled endpoint to be FAILED");

    // Every delivery that failed for good is announced, those ended by the disable too.
    const failed = await listDeliveries(client, { endpointId });
    const exhausted = await waitFor(async () => {
      const { events } = await client.ok(ListEventsDocument, { filter: { types: ["delivery.exhausted"] } });
      return events.edges.length >= failed.length ? events.edges : null;
    }, "a delivery.exhausted notice per failed delivery");
    expect(exhausted).toHaveLength(failed.length);

    // A later event reaches a healthy endpoint but is not even offered to the disabled one.
    const healthy = await endpointAnswering(() => ({ status: 200 }));
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.delivered", data: { to: "b@example.com" } },
    });
    await waitFor(
      () => requestsFor(healthy.receiver, publishEvent.id)[0],
      "the later event at the healthy endpoint",
    );
    expect(await listDeliveries(client, { eventId: publishEvent.id, endpointId })).toHaveLength(0);
    expect(requestsFor(receiver, publishEvent.id)).toHaveLength(0);

    // The change is announced once, as an operational event.
    const events = await waitFor(async () => {
      const { events } = await client.ok(ListEventsDocument, { filter: { types: ["endpoint.disabled"] } });
      return events.edges.length > 0 ? events : null;
    }, "the endpoint.disabled notice");
    expect(events.edges).toHaveLength(1);
    const { event } = await client.ok(GetEventDocument, { id: events.edges[0]!.node.id });
    expect(event?.data).toMatchObject({ endpointId, reason: disabled.disabledReason });
  });

  it("sends a test event on demand and reports the outcome", async () => {
    const { receiver, endpointId } = await endpointAnswering(() => ({ status: 202, body: "pong" }));
    const { testEndpoint } = await client.ok(TestEndpointDocument, { id: endpointId });

    expect(testEndpoint).toMatchObject({ success: true, status: 202, body: "pong", error: null });
    expect(testEndpoint.durationMs).toBeGreaterThanOrEqual(0);
    expect(testEndpoint.attempt).toMatchObject({ trigger: "TEST", number: 1 });
    const sent = JSON.parse(testEndpoint.attempt.requestBody) as { id: string };
    expect(sent).toMatchObject({ type: "webhook.test" });
    const received = requestsFor(receiver, sent.id);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers["x-hookpost-event"]).toBe("webhook.test");
  });

  it("does not count failing test sends toward disabling the endpoint", async () => {
    // Each send is answered 500 "broken" by the receiver: the result shows it got there.
    const { endpointId } = await endpointAnswering(() => ({ status: 500, body: "broken" }));
    const sends = FAILURE_THRESHOLD + 1;
    for (let i = 0; i < sends; i++) {
      // A sample of a real type too: still a test, never the endpoint's real traffic.
      const eventType = i === 0 ? "email.bounced" : null;
      const { testEndpoint } = await client.ok(TestEndpointDocument, { id: endpointId, eventType });
      expect(testEndpoint).toMatchObject({ success: false, status: 500, body: "broken" });
      expect(testEndpoint.attempt.trigger).toBe("TEST");
    }
    expect(await endpoint(endpointId)).toMatchObject({ enabled: true, consecutiveFailures: 0 });
    // Nor is a failed test send a real delivery running out of retries: no delivery.exhausted notice.
    const { events } = await client.ok(ListEventsDocument, { filter: { types: ["delivery.exhausted"] } });
    expect(events.edges).toHaveLength(0);
  });
});
