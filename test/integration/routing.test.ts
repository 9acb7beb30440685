import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  type CreateEndpointInput,
  DeleteEndpointDocument,
  EventTypesDocument,
  GetDeliveryDocument,
  ListEventsDocument,
  PublishEventDocument,
  type PublishEventInput,
  PublishEventsDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { deliveryOf, listDeliveries, waitForDeliveryStatus } from "../support/deliveries.ts";
import { receivedOf, requestsFor } from "../support/eventRequests.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Behaviour, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

/** Many short retries, so a failing endpoint keeps being retried while a test watches. */
const RETRY_SCHEDULE = Array(30).fill("150ms").join(",");

describe("routing events to endpoints", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  const receivers: Receiver[] = [];

  async function subscribe(input: Omit<CreateEndpointInput, "url">, respond?: () => Behaviour) {
    const receiver = await startReceiver(respond);
    receivers.push(receiver);
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, ...input },
    });
    return { receiver, id: createEndpoint.endpoint.id };
  }

  async function publish(input: Omit<PublishEventInput, "data"> & { data?: unknown }) {
    const { publishEvent } = await client.ok(PublishEventDocument, { input: { data: {}, ...input } });
    return publishEvent.id;
  }

  beforeAll(async () => {
    hp = await startTestHookpost({ env: { RETRY_SCHEDULE, ENDPOINT_FAILURE_THRESHOLD: "0" } });
  });
  // A workspace per test, so each test's events reach only its own endpoints.
  beforeEach(async () => {
    client = (await hp.newWorkspace()).client;
  });
  afterAll(async () => {
    await hp?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("delivers by exact type, family prefix and wildcard", async () => {
    const exact = await subscribe({ eventTypes: ["email.bounced"] });
    const prefix = await subscribe({ eventTypes: ["email.*"] });
    const all = await subscribe({ eventTypes: ["*"] });
    const domainOnly = await subscribe({ eventTypes: ["domain.*"] });

    const bounced = await publish({ type: "email.bounced" });
    const opened = await publish({ type: "email.opened" });
    const dnsError = await publish({ type: "domain.dns_error" });
    const published = [bounced, opened, dnsError];
    await waitFor(
      () => receivedOf(all.receiver, ...published).length === 3,
      "the wildcard endpoint to get all three",
    );
    await waitFor(() => receivedOf(prefix.receiver, ...published).length === 2, "the prefix endpoint's two");
    await waitFor(
      () =>
        receivedOf(exact.receiver, ...published).length === 1 &&
        receivedOf(domainOnly.receiver, ...published).length === 1,
      "the rest",
    );

    expect(receivedOf(exact.receiver, ...published)).toEqual([bounced]);
    expect(receivedOf(prefix.receiver, ...published)).toEqual([bounced, opened].sort());
    expect(receivedOf(domainOnly.receiver, ...published)).toEqual([dnsError]);
    // Fan-out is decided when the event is accepted: one delivery per matching endpoint, none for the others.
    const fannedOut = (await listDeliveries(client, { eventId: bounced })).map((d) => d.endpoint.id);
    expect(fannedOut.sort()).toEqual([exact.id, prefix.id, all.id].sort());
  });

  it('sends operational events only to endpoints that name them, not to "*"', async () => {
    const all = await subscribe({ eventTypes: ["*"] });
    const watcher = await subscribe({ eventTypes: ["endpoint.disabled"] });
    const doomed = await subscribe({ eventTypes: ["email.*"] });

    await client.ok(UpdateEndpointDocument, { id: doomed.id, input: { enabled: false } });
    const { events } = await client.ok(ListEventsDocument, { filter: { types: ["endpoint.disabled"] } });
    const noticeId = events.edges[0]!.node.id;
    const notice = await waitFor(
      () => requestsFor(watcher.receiver, noticeId)[0],
      "the endpoint.disabled notice",
    );
    expect(notice.headers["x-hookpost-event"]).toBe("endpoint.disabled");
    expect(JSON.parse(notice.body)).toMatchObject({
      type: "endpoint.disabled",
      data: { endpointId: doomed.id },
    });

    expect((await listDeliveries(client, { eventId: noticeId })).map((d) => d.endpoint.id)).toEqual([
      watcher.id,
    ]);
    expect(requestsFor(all.receiver, noticeId)).toHaveLength(0);
  });

  it("filters by stream", async () => {
    const marketing = await subscribe({ eventTypes: ["*"], streams: ["marketing"] });
    const everyStream = await subscribe({ eventTypes: ["*"] });

    const inStream = await publish({ type: "email.sent", stream: "marketing" });
    const otherStream = await publish({ type: "email.sent", stream: "transactional" });
    const noStream = await publish({ type: "email.sent" });
    const published = [inStream, otherStream, noStream];
    await waitFor(
      () => receivedOf(everyStream.receiver, ...published).length === 3,
      "every event at the unfiltered endpoint",
    );
    await waitFor(() => receivedOf(marketing.receiver, ...published).length === 1, "the marketing event");

    expect(receivedOf(marketing.receiver, ...published)).toEqual([inStream]);
    expect(await listDeliveries(client, { endpointId: marketing.id })).toHaveLength(1);
  });

  it("sends nothing to disabled endpoints", async () => {
    const disabled = await subscribe({ eventTypes: ["*"], enabled: false });
    const enabled = await subscribe({ eventTypes: ["*"] });

    const eventId = await publish({ type: "email.delivered" });
    await waitFor(() => requestsFor(enabled.receiver, eventId)[0], "the enabled endpoint's delivery");

    expect(requestsFor(disabled.receiver, eventId)).toHaveLength(0);
    expect(await listDeliveries(client, { endpointId: disabled.id })).toHaveLength(0);
  });

  it("publishes once per idempotency key, also when two publishes race", async () => {
    const endpoint = await subscribe({ eventTypes: ["*"] });

    const first = await publish({ type: "email.sent", idempotencyKey: "msg-1:sent" });
    const again = await publish({ type: "email.sent", idempotencyKey: "msg-1:sent" });
    const racing = await Promise.all([
      publish({ type: "email.opened", idempotencyKey: "msg-2:opened" }),
      publish({ type: "email.opened", idempotencyKey: "msg-2:opened" }),
    ]);
    const unkeyed = await publish({ type: "email.sent" });
    await waitFor(
      () => receivedOf(endpoint.receiver, first, racing[0], unkeyed).length === 3,
      "every event at the endpoint",
    );

    expect(again).toBe(first);
    expect(racing[1]).toBe(racing[0]);
    expect(await listDeliveries(client, { eventId: first })).toHaveLength(1);
    expect(await listDeliveries(client, { eventId: racing[0] })).toHaveLength(1);
    const { events } = await client.ok(ListEventsDocument, {});
    expect(events.edges).toHaveLength(3);
  });

  it("cancels pending deliveries when their endpoint is deleted", async () => {
    const doomed = await subscribe({ eventTypes: ["*"] }, () => ({ status: 500 }));
    const control = await subscribe({ eventTypes: ["*"] }, () => ({ status: 500 }));
    const eventId = await publish({ type: "email.delivered" });
    const pending = await deliveryOf(client, eventId, doomed.id);
    await waitForDeliveryStatus(client, pending.id, "RETRYING");

    expect(await client.ok(DeleteEndpointDocument, { id: doomed.id })).toEqual({ deleteEndpoint: doomed.id });
    const controlRetries = () => requestsFor(control.receiver, eventId).length;
    const controlAt = controlRetries();
    // An attempt already on the wire when the delete landed may still arrive; after that, silence.
    await waitFor(() => controlRetries() >= controlAt + 2, "two more retries of the control");
    const settled = requestsFor(doomed.receiver, eventId).length;
    await waitFor(() => controlRetries() >= controlAt + 6, "several more retries of the control");

    expect(requestsFor(doomed.receiver, eventId)).toHaveLength(settled);
    expect((await client.ok(GetDeliveryDocument, { id: pending.id })).delivery).toBeNull();
  });

  it("publishes a batch in order, each event delivered", async () => {
    const endpoint = await subscribe({ eventTypes: ["email.*"] });
    const types = ["email.queued", "email.sent", "email.delivered"];
    const { publishEvents } = await client.ok(PublishEventsDocument, {
      inputs: types.map((type, i) => ({ type, data: { n: i } })),
    });

    expect(publishEvents.map((e) => e.type)).toEqual(types);
    const published = publishEvents.map((e) => e.id);
    await waitFor(
      () => receivedOf(endpoint.receiver, ...published).length === types.length,
      "the whole batch",
    );
  });

  it("lists the event catalog", async () => {
    const { eventTypes } = await client.ok(EventTypesDocument);
    const byName = new Map(eventTypes.map((t) => [t.name, t]));

    for (const name of [
      "email.queued",
      "email.sent",
      "email.delivered",
      "email.delivery_delayed",
      "email.bounced",
      "email.complained",
      "email.rejected",
      "email.failed",
      "email.held",
      "email.opened",
      "email.clicked",
      "email.unsubscribed",
      "domain.dns_error",
      "webhook.test",
    ]) {
      expect(byName.get(name), name).toMatchObject({ operational: false });
      expect(byName.get(name)?.description).not.toBe("");
    }
    for (const name of [
      "endpoint.disabled",
      "endpoint.enabled",
      "delivery.exhausted",
      "delivery.recovered",
    ]) {
      expect(byName.get(name), name).toMatchObject({ operational: true });
    }
    expect(byName.get("email.bounced")?.example).toMatchObject({ bounce: { type: expect.any(String) } });
  });
});
