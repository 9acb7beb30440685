import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  type CreateEndpointInput,
  DeleteEndpointDocument,
  EventTypesDocument,
  GetDeliveryDocument,
  PublishEventDocument,
  type PublishEventInput,
  PublishEventsDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { deliveryOf, listDeliveries, waitForDeliveryStatus } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Behaviour, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

/** Many short retries, so a failing endpoint keeps being retried while a test watches. */
const RETRY_SCHEDULE = Array(30).fill("150ms").join(",");

/**
 * The distinct event ids a receiver got (webhook-id header), sorted. Distinct because delivery is
 * at-least-once: an attempt that times out on a busy machine is sent again.
 */
const idsAt = (r: Receiver) =>
  [...new Set(r.requests.map((req) => String(req.headers["webhook-id"])))].sort();

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
    await Promise.all(receivers.map((r) => r.close()));
    await hp?.stop();
  });

  it("delivers by exact type, family prefix and wildcard", async () => {
    const exact = await subscribe({ eventTypes: ["email.bounced"] });
    const prefix = await subscribe({ eventTypes: ["email.*"] });
    const all = await subscribe({ eventTypes: ["*"] });
    const domainOnly = await subscribe({ eventTypes: ["domain.*"] });

    const bounced = await publish({ type: "email.bounced" });
    const opened = await publish({ type: "email.opened" });
    const dnsError = await publish({ type: "domain.dns_error" });
    await waitFor(() => idsAt(all.receiver).length === 3, "the wildcard endpoint to get all three");
    await waitFor(() => idsAt(prefix.receiver).length === 2, "the prefix endpoint to get both email events");
    await waitFor(
      () => idsAt(exact.receiver).length === 1 && idsAt(domainOnly.receiver).length === 1,
      "the rest",
    );

    expect(idsAt(exact.receiver)).toEqual([bounced]);
    expect(idsAt(prefix.receiver)).toEqual([bounced, opened].sort());
    expect(idsAt(all.receiver)).toEqual([bounced, opened, dnsError].sort());
    expect(idsAt(domainOnly.receiver)).toEqual([dnsError]);
    // Fan-out is decided when the event is accepted: one delivery per matching endpoint, none for the others.
    const fannedOut = (await listDeliveries(client, { eventId: bounced })).map((d) => d.endpoint.id);
    expect(fannedOut.sort()).toEqual([exact.id, prefix.id, all.id].sort());
  });

  it('sends operational events only to endpoints that name them, not to "*"', async () => {
    const all = await subscribe({ eventTypes: ["*"] });
    const watcher = await subscribe({ eventTypes: ["endpoint.disabled"] });
    const doomed = await subscribe({ eventTypes: ["email.*"] });

    await client.ok(UpdateEndpointDocument, { id: doomed.id, input: { enabled: false } });
    const notice = await waitFor(() => watcher.receiver.requests[0], "the endpoint.disabled notice");
    expect(notice.headers["x-hookpost-event"]).toBe("endpoint.disabled");
    expect(JSON.parse(notice.body)).toMatchObject({
      type: "endpoint.disabled",
      data: { endpointId: doomed.id },
    });

    const noticeId = String(notice.headers["webhook-id"]);
    expect((await listDeliveries(client, { eventId: noticeId })).map((d) => d.endpoint.id)).toEqual([
      watcher.id,
    ]);
    expect(all.receiver.requests).toHaveLength(0);
  });

  it("filters by stream", async () => {
    const marketing = await subscribe({ eventTypes: ["*"], streams: ["marketing"] });
    const everyStream = await subscribe({ eventTypes: ["*"] });

    const inStream = await publish({ type: "email.sent", stream: "marketing" });
    const otherStream = await publish({ type: "email.sent", stream: "transactional" });
    const noStream = await publish({ type: "email.sent" });
    await waitFor(() => idsAt(everyStream.receiver).length === 3, "every event at the unfiltered endpoint");
    await waitFor(() => idsAt(marketing.receiver).length === 1, "the marketing event");

    expect(idsAt(marketing.receiver)).toEqual([inStream]);
    expect(await listDeliveries(client, { endpointId: marketing.id })).toHaveLength(1);
    expect(idsAt(everyStream.receiver)).toEqual([inStream, otherStream, noStream].sort());
  });

  it("sends nothing to disabled endpoints", async () => {
    const disabled = await subscribe({ eventTypes: ["*"], enabled: false });
    const enabled = await subscribe({ eventTypes: ["*"] });

    const eventId = await publish({ type: "email.delivered" });
    await waitFor(() => idsAt(enabled.receiver).length === 1, "the enabled endpoint's delivery");

    expect(idsAt(enabled.receiver)).toEqual([eventId]);
    expect(disabled.receiver.requests).toHaveLength(0);
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
    // The unkeyed event is published last; once it has arrived, the others have had their chance.
    await waitFor(() => idsAt(endpoint.receiver).includes(unkeyed), "the last event");
    await waitFor(() => idsAt(endpoint.receiver).length >= 3, "every event");

    expect(again).toBe(first);
    expect(racing[1]).toBe(racing[0]);
    expect(await listDeliveries(client, { eventId: first })).toHaveLength(1);
    expect(await listDeliveries(client, { eventId: racing[0] })).toHaveLength(1);
    expect(idsAt(endpoint.receiver)).toEqual([first, racing[0], unkeyed].sort());
  });

  it("cancels pending deliveries when their endpoint is deleted", async () => {
    const doomed = await subscribe({ eventTypes: ["*"] }, () => ({ status: 500 }));
    const control = await subscribe({ eventTypes: ["*"] }, () => ({ status: 500 }));
    const eventId = await publish({ type: "email.delivered" });
    const pending = await deliveryOf(client, eventId, doomed.id);
    await waitForDeliveryStatus(client, pending.id, "RETRYING");

    expect(await client.ok(DeleteEndpointDocument, { id: doomed.id })).toEqual({ deleteEndpoint: doomed.id });
    const controlAt = control.receiver.requests.length;
    // An attempt already on the wire when the delete landed may still arrive; after that, silence.
    await waitFor(() => control.receiver.requests.length >= controlAt + 2, "two more retries of the control");
    const settled = doomed.receiver.requests.length;
    await waitFor(
      () => control.receiver.requests.length >= controlAt + 6,
      "several more retries of the control",
    );

    expect(doomed.receiver.requests).toHaveLength(settled);
    expect((await client.ok(GetDeliveryDocument, { id: pending.id })).delivery).toBeNull();
  });

  it("publishes a batch in order, each event delivered", async () => {
    const endpoint = await subscribe({ eventTypes: ["email.*"] });
    const types = ["email.queued", "email.sent", "email.delivered"];
    const { publishEvents } = await client.ok(PublishEventsDocument, {
      inputs: types.map((type, i) => ({ type, data: { n: i } })),
    });

    expect(publishEvents.map((e) => e.type)).toEqual(types);
    await waitFor(() => idsAt(endpoint.receiver).length === types.length, "the whole batch");
    expect(idsAt(endpoint.receiver)).toEqual(publishEvents.map((e) => e.id).sort());
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
