import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  type DeliveryFilter,
  type EndpointFilter,
  type EventFilter,
  ListDeliveriesDocument,
  ListEndpointsDocument,
  ListEventsDocument,
  PublishEventDocument,
  PublishEventsDocument,
} from "../generated/graphql.ts";
import { listDeliveries } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

type Page<T> = {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
};
type Row = { id: string; createdAt: string };

/** Follows endCursor page by page and returns every node, checking each page's size on the way. */
async function pageThrough<T>(
  first: number,
  fetch: (after: string | null) => Promise<Page<T>>,
): Promise<T[]> {
  const nodes: T[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const { edges, pageInfo } = await fetch(after);
    expect(edges.length).toBeLessThanOrEqual(first);
    nodes.push(...edges.map((e) => e.node));
    if (!pageInfo.hasNextPage) return nodes;
    expect(edges).toHaveLength(first);
    expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor);
    after = pageInfo.endCursor ?? null;
  }
  throw new Error("more than 100 pages");
}

/** Newest first: by createdAt, ties (rows made in the same millisecond) by id, both descending. */
function expectNewestFirst(rows: Row[]) {
  const sorted = [...rows].sort((a, b) =>
    a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
  );
  expect(rows.map((r) => r.id)).toEqual(sorted.map((r) => r.id));
}

/** Waits until the clock has left the millisecond of `at`, so the next row gets a later createdAt. */
const afterMillisecond = (at: number) => waitFor(() => Date.now() > at, "the next millisecond");

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

describe("pagination and filters", () => {
  let hp: TestHookpost;
  let receiver: Receiver;

  beforeAll(async () => {
    hp = await startTestHookpost({ env: { RETRY_SCHEDULE: "50ms" } });
    // Paths ending in /fail answer 500, so deliveries there end FAILED (after one retry).
    receiver = await startReceiver((req) => ({ status: req.url.endsWith("/fail") ? 500 : 200 }));
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  describe("endpoints", () => {
    let client: GraphqlClient;
    const created: { id: string; eventTypes: string[]; enabled: boolean }[] = [];
    const list = (first: number, filter?: EndpointFilter) =>
      pageThrough(
        first,
        async (after) => (await client.ok(ListEndpointsDocument, { first, after, filter })).endpoints,
      );

    beforeAll(async () => {
      client = (await hp.newWorkspace("endpoints")).client;
      const specs = [
        { eventTypes: ["email.*"] },
        { eventTypes: ["domain.*"] },
        { eventTypes: ["*"] },
        { eventTypes: ["email.bounced"], enabled: false },
        { eventTypes: ["email.opened", "email.clicked"] },
        { eventTypes: ["domain.dns_error"], enabled: false },
        { eventTypes: ["email.*"] },
      ];
      for (const spec of specs) {
        const { createEndpoint } = await client.ok(CreateEndpointDocument, {
          input: { url: receiver.url, ...spec },
        });
        created.push({ id: createEndpoint.endpoint.id, enabled: true, ...spec });
        await afterMillisecond(Date.now());
      }
    });

    it("pages newest first without gaps or duplicates", async () => {
      for (const first of [1, 3, 7, 100]) {
        const all = await list(first);
        expect(ids(all), `first: ${first}`).toEqual(ids(created).reverse());
        expectNewestFirst(all);
      }
    });

    it("filters by enabled and by the event types an endpoint receives", async () => {
      const idsWhere = (keep: (e: (typeof created)[number]) => boolean) =>
        ids(created.filter(keep)).reverse();
      expect(ids(await list(2, { enabled: false }))).toEqual(idsWhere((e) => !e.enabled));
      expect(ids(await list(2, { enabled: true }))).toEqual(idsWhere((e) => e.enabled));
      const receivesBounce = (e: (typeof created)[number]) =>
        e.eventTypes.some((t) => t === "*" || t === "email.*" || t === "email.bounced");
      expect(ids(await list(2, { eventType: "email.bounced" }))).toEqual(idsWhere(receivesBounce));
      const receivesDns = (e: (typeof created)[number]) =>
        e.eventTypes.some((t) => t === "*" || t === "domain.*" || t === "domain.dns_error");
      expect(ids(await list(2, { eventType: "domain.dns_error" }))).toEqual(idsWhere(receivesDns));
    });
  });

  describe("events", () => {
    let client: GraphqlClient;
    /** Published one at a time, oldest first, each in a later millisecond than the one before. */
    const sequential: { id: string; type: string }[] = [];
    let batch: string[];
    const list = (first: number, filter?: EventFilter) =>
      pageThrough(
        first,
        async (after) => (await client.ok(ListEventsDocument, { first, after, filter })).events,
      );

    beforeAll(async () => {
      client = (await hp.newWorkspace("events")).client;
      for (let i = 0; i < 10; i++) {
        const type = i % 3 === 0 ? "email.opened" : "email.sent";
        const { publishEvent } = await client.ok(PublishEventDocument, { input: { type, data: { n: i } } });
        sequential.push({ id: publishEvent.id, type });
        await afterMillisecond(Date.now());
      }
      // A batch shares one createdAt: the id breaks the tie, so the cursor must carry both.
      const { publishEvents } = await client.ok(PublishEventsDocument, {
        inputs: Array.from({ length: 5 }, (_, n) => ({ type: "email.clicked", data: { n } })),
      });
      batch = ids(publishEvents);
    });

    it("pages newest first without gaps or duplicates, also through rows made in the same millisecond", async () => {
      const everything = await list(100);
      expect(everything).toHaveLength(15);
      expectNewestFirst(everything);
      expect(ids(everything.slice(0, 5)).sort()).toEqual([...batch].sort());
      expect(ids(everything.slice(5))).toEqual(ids(sequential).reverse());
      for (const first of [1, 2, 4]) {
        expect(ids(await list(first)), `first: ${first}`).toEqual(ids(everything));
      }
    });

    it("filters by type and by a since/until range", async () => {
      const opened = sequential.filter((e) => e.type === "email.opened");
      expect(ids(await list(2, { types: ["email.opened"] }))).toEqual(ids(opened).reverse());
      expect(await list(3, { types: ["email.clicked", "email.opened"] })).toHaveLength(
        batch.length + opened.length,
      );

      const everything = await list(100);
      const pivot = everything.find((e) => e.id === sequential[4]!.id)!;
      const since = await list(3, { since: pivot.createdAt });
      const until = await list(3, { until: pivot.createdAt });
      expect(ids(since)).toEqual([...ids(everything.slice(0, 5)), ...ids(sequential.slice(4)).reverse()]);
      expect(ids(until)).toEqual(ids(sequential.slice(0, 4)).reverse());
      const between = await list(2, { since: pivot.createdAt, until: everything[0]!.createdAt });
      expect(ids(between)).toEqual(ids(sequential.slice(4)).reverse());
    });
  });

  describe("deliveries", () => {
    let client: GraphqlClient;
    let okEndpoint: string;
    let failEndpoint: string;
    const events: { id: string; type: string }[] = [];
    const list = (first: number, filter?: DeliveryFilter) =>
      pageThrough(
        first,
        async (after) => (await client.ok(ListDeliveriesDocument, { first, after, filter })).deliveries,
      );

    beforeAll(async () => {
      client = (await hp.newWorkspace("deliveries")).client;
      const endpoint = async (path: string) =>
        (
          await client.ok(CreateEndpointDocument, {
            input: { url: new URL(path, receiver.url).toString(), eventTypes: ["email.*"] },
          })
        ).createEndpoint.endpoint.id;
      okEndpoint = await endpoint("ok");
      failEndpoint = await endpoint("fail");
      for (let i = 0; i < 6; i++) {
        const type = i % 2 === 0 ? "email.delivered" : "email.bounced";
        const { publishEvent } = await client.ok(PublishEventDocument, { input: { type, data: { n: i } } });
        events.push({ id: publishEvent.id, type });
        await afterMillisecond(Date.now());
      }
      await waitFor(async () => {
        const rows = await listDeliveries(client);
        return rows.length === 12 && rows.every((d) => d.status === "SUCCEEDED" || d.status === "FAILED");
      }, "every delivery to settle");
    });

    it("pages newest first without gaps or duplicates", async () => {
      const everything = await list(100);
      expect(everything).toHaveLength(12);
      expectNewestFirst(everything);
      // Both deliveries of an event are made with it, so events come newest first, in pairs.
      const eventOrder = everything.map((d) => d.event.id).filter((id, i, all) => all[i - 1] !== id);
      expect(eventOrder).toEqual(ids(events).reverse());
      for (const first of [1, 5, 12]) {
        expect(ids(await list(first)), `first: ${first}`).toEqual(ids(everything));
      }
    });

    it("filters by status, endpoint, event, event type and time range", async () => {
      const succeeded = await list(4, { status: ["SUCCEEDED"] });
      expect(succeeded.map((d) => d.endpoint.id)).toEqual(Array(6).fill(okEndpoint));
      const failed = await list(4, { status: ["FAILED"] });
      expect(failed.map((d) => d.endpoint.id)).toEqual(Array(6).fill(failEndpoint));
      expect(failed.map((d) => d.attemptCount)).toEqual(Array(6).fill(2));
      expect(await list(4, { status: ["SUCCEEDED", "FAILED"] })).toHaveLength(12);
      expect(await list(4, { status: ["PENDING", "RETRYING", "CANCELLED"] })).toHaveLength(0);

      expect(ids(await list(4, { endpointId: failEndpoint }))).toEqual(ids(failed));
      expect((await list(4, { eventId: events[2]!.id })).map((d) => d.event.id)).toEqual([
        events[2]!.id,
        events[2]!.id,
      ]);
      const bounced = await list(4, { eventTypes: ["email.bounced"] });
      expect(new Set(bounced.map((d) => d.event.id))).toEqual(
        new Set(events.filter((e) => e.type === "email.bounced").map((e) => e.id)),
      );
      expect(bounced).toHaveLength(6);
      expect(
        await list(4, { endpointId: okEndpoint, status: ["FAILED"], eventTypes: ["email.bounced"] }),
      ).toHaveLength(0);

      const everything = await list(100);
      const pivot = everything.find((d) => d.event.id === events[3]!.id)!;
      const since = await list(5, { since: pivot.createdAt });
      const until = await list(5, { until: pivot.createdAt });
      expect(new Set(since.map((d) => d.event.id))).toEqual(new Set(ids(events.slice(3))));
      expect(new Set(until.map((d) => d.event.id))).toEqual(new Set(ids(events.slice(0, 3))));
      expect(since.length + until.length).toBe(12);
    });
  });
});
