import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  GetEndpointDocument,
  LiveEndpointUpdatesDocument,
  PublishEventsDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { listDeliveries } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { wsClient, wsSubscribe } from "../support/live.ts";
import { counterOf } from "../support/metrics.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const THRESHOLD = 3;
/** Short, for the hanging receiver; every other receiver here answers at once. */
const TIMEOUT_MS = 3_000;
const COOLDOWN_MS = 3_000;
/** Waits on a loaded machine are bounded by this, never by the circuit's clock. */
const WAIT_MS = 180_000;

/**
 * An endpoint's circuit breaker, end to end: a real worker, real receivers.
 * The sweeper's grace is far longer than any test here, so whatever is sent
 * is sent by the circuit's probe and release, never by a sweep.
 */
describe("an endpoint's circuit", { timeout: 4 * WAIT_MS }, () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  let apiKey: string;
  const receivers: Receiver[] = [];

  /** A receiver that answers 503 until `recover()`, then 200. */
  async function flakyReceiver() {
    let healthy = false;
    const receiver = await startReceiver(() => ({ status: healthy ? 200 : 503 }));
    receivers.push(receiver);
    return { receiver, recover: () => (healthy = true) };
  }

  async function endpointAt(url: string) {
    const { createEndpoint } = await client.ok(CreateEndpointDocument, { input: { url, eventTypes: ["*"] } });
    return createEndpoint.endpoint.id;
  }

  async function publish(count: number, tag: string): Promise<string[]> {
    const { publishEvents } = await client.ok(PublishEventsDocument, {
      inputs: Array.from({ length: count }, (_, n) => ({ type: "email.sent", data: { tag, n } })),
    });
    return publishEvents.map((e) => e.id);
  }

  const endpoint = async (id: string) => (await client.ok(GetEndpointDocument, { id })).endpoint!;
  /** The circuit's end once it is open, and later than `after` (it opened again). */
  const circuitOpenAfter = (id: string, after = 0) =>
    waitFor(
      async () => {
        const until = (await endpoint(id)).circuitOpenUntil;
        return until && Date.parse(until) > after ? Date.parse(until) : null;
      },
      `the circuit of ${id} to open`,
      WAIT_MS,
    );
  /** While it waits, says how many deliveries are in each status (a FAILED one will not recover). */
  const allSucceeded = (endpointId: string, count: number) =>
    waitFor(
      async () => {
        const rows = await listDeliveries(client, { endpointId });
        const statuses = new Map<string, number>();
        for (const d of rows) statuses.set(d.status, (statuses.get(d.status) ?? 0) + 1);
        if (statuses.has("FAILED"))
          throw new Error(`a delivery failed for good: ${JSON.stringify([...statuses])}`);
        if (rows.length === count && statuses.get("SUCCEEDED") === count) return true;
        throw new Error(`${rows.length} of ${count} deliveries: ${JSON.stringify([...statuses])}`);
      },
      "every delivery to succeed",
      WAIT_MS,
    );
  const failedAttemptsInRow = async (id: string) =>
    (await hp.db.prisma.endpoint.findUniqueOrThrow({ where: { id } })).failedAttemptsInRow;
  /** How many times the receiver got each event. */
  const sendsPerEvent = (requests: { body: string }[]) => {
    const counts = new Map<string, number>();
    for (const r of requests) counts.set(eventIdOf(r.body), (counts.get(eventIdOf(r.body)) ?? 0) + 1);
    return counts;
  };
  const eventIdOf = (body: string) => (JSON.parse(body) as { id: string }).id;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        CIRCUIT_FAILURE_THRESHOLD: String(THRESHOLD),
        CIRCUIT_COOLDOWN_MS: String(COOLDOWN_MS),
        ENDPOINT_FAILURE_THRESHOLD: "0",
        DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
        RETRY_SCHEDULE: Array(8).fill("500ms").join(","),
        SWEEP_GRACE_MS: "600000",
      },
    });
  });
  beforeEach(async () => {
    ({ client, apiKey } = await hp.newWorkspace());
  });
  afterAll(async () => {
    await hp?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("opens after consecutive failures, sends one probe per cooldown, and sends everything once one succeeds", async () => {
    const { receiver, recover } = await flakyReceiver();
    const endpointId = await endpointAt(receiver.url);
    const ws = wsClient(hp.url, `Bearer ${apiKey}`);
    const updates = wsSubscribe(ws, LiveEndpointUpdatesDocument, { endpointId });
    try {
      await waitFor(() => updates.open, "the subscription");
      const failing = await publish(THRESHOLD, "failing");
      const firstEnd = await circuitOpenAfter(endpointId);
      expect(await failedAttemptsInRow(endpointId)).toBeGreaterThanOrEqual(THRESHOLD);
      const waiting = await publish(5, "waiting");

      // Nothing that waits reaches the receiver before the circuit's end (the failing
      // deliveries' retries came due meanwhile); then one probe fails and opens it again.
      const secondEnd = await circuitOpenAfter(endpointId, firstEnd);
      const sentBefore = receiver.requests.filter((r) => r.at < firstEnd).map((r) => eventIdOf(r.body));
      expect(sentBefore.length).toBeGreaterThanOrEqual(THRESHOLD);
      expect(sentBefore.every((id) => failing.includes(id))).toBe(true);
      const probes = receiver.requests.filter((r) => r.at >= firstEnd && r.at < secondEnd);
      expect(probes).toHaveLength(1);

      // The next probe succeeds: the circuit closes and every delivery that waited is sent, once.
      recover();
      const all = [...failing, ...waiting];
      await allSucceeded(endpointId, all.length);
      const successes = receiver.requests.filter((r) => r.at >= secondEnd).map((r) => eventIdOf(r.body));
      expect(successes.sort()).toEqual([...all].sort());
      expect(await endpoint(endpointId)).toMatchObject({ circuitOpenUntil: null, consecutiveFailures: 0 });

      // Dashboards saw it open, open again and close.
      await waitFor(() => updates.data.length >= 3, "three endpoint updates", WAIT_MS);
      expect(updates.errors).toEqual([]);
      expect(updates.data.map((d) => d.endpointUpdates.circuitOpenUntil)).toEqual([
        new Date(firstEnd).toISOString(),
        new Date(secondEnd).toISOString(),
        null,
      ]);
    } finally {
      updates.stop();
      await ws.dispose();
    }
  });

  it("sends what waited as soon as a person points the endpoint elsewhere", async () => {
    const { receiver: broken } = await flakyReceiver();
    const fixed = await startReceiver();
    receivers.push(fixed);
    const endpointId = await endpointAt(broken.url);
    const failing = await publish(THRESHOLD, "failing");
    await circuitOpenAfter(endpointId);
    const waiting = await publish(4, "waiting");

    const { updateEndpoint } = await client.ok(UpdateEndpointDocument, {
      id: endpointId,
      input: { url: fixed.url },
    });
    expect(updateEndpoint).toMatchObject({ circuitOpenUntil: null, consecutiveFailures: 0 });
    // What waited goes to the new URL; the failing deliveries follow their retry schedule there.
    // Without the release nothing would send the waiting ones: the circuit's probe finds it
    // closed, and the sweeper's grace outlasts the test.
    const all = new Set([...failing, ...waiting]);
    await waitFor(
      () => new Set(fixed.requests.map((r) => eventIdOf(r.body))).size === all.size,
      "every delivery at the new URL",
      WAIT_MS,
    );
    expect(new Set(fixed.requests.map((r) => eventIdOf(r.body)))).toEqual(all);
  });

  it("takes a hanging endpoint's deliveries out of the worker's line once its circuit opens, and sends them all once it closes", async () => {
    let answering = false;
    const receiver = await startReceiver(() => (answering ? { status: 200 } : "hang"));
    receivers.push(receiver);
    const endpointId = await endpointAt(receiver.url);
    const joins = () => counterOf(hp, "hookpost_origin_line_joins_total");
    const drops = () => counterOf(hp, "hookpost_origin_line_drops_total");
    const [joinsBefore, dropsBefore] = [await joins(), await drops()];

    // An origin that has not answered yet gets eight attempts at once; the rest wait in its line.
    const events = await publish(100, "hanging");
    await waitFor(async () => (await joins()) - joinsBefore >= 90, "the deliveries to wait in line", WAIT_MS);
    await circuitOpenAfter(endpointId);
    // Once the first of them is loaded and found waiting for the circuit, the rest leave the
    // line unstarted, each a database read saved.
    await waitFor(async () => (await drops()) > dropsBefore, "the line to be dropped", WAIT_MS);
    expect(receiver.requests.length).toBeLessThan(events.length);

    // They wait in the database like the endpoint's others, and nothing is lost.
    answering = true;
    const answeringFrom = Date.now();
    await allSucceeded(endpointId, events.length);
    const answered = receiver.requests.filter((r) => r.at >= answeringFrom).map((r) => eventIdOf(r.body));
    expect(new Set(answered)).toEqual(new Set(events));
  });

  it("sends each delivery that waited once when the circuit closes, though the process stalls meanwhile", async () => {
    let healthy = false;
    let answeredSinceRecovery = 0;
    const receiver = await startReceiver(() => {
      if (!healthy) return { status: 503 };
      // A loaded machine: the process stalls past the attempt timeout while the release's
      // attempts are in flight.
      if (++answeredSinceRecovery === 5) {
        const until = Date.now() + TIMEOUT_MS + 1_000;
        while (Date.now() < until);
      }
      return { status: 200 };
    });
    receivers.push(receiver);
    const endpointId = await endpointAt(receiver.url);
    const failing = await publish(THRESHOLD, "failing");
    const end = await circuitOpenAfter(endpointId);
    const waiting = await publish(60, "waiting");
    healthy = true;
    const all = [...failing, ...waiting];
    await allSucceeded(endpointId, all.length);
    const afterEnd = sendsPerEvent(receiver.requests.filter((r) => r.at >= end));
    expect([...afterEnd.keys()].sort()).toEqual([...all].sort());
    // On a loaded machine an attempt may time out though the receiver got it, and is then
    // rightly sent again; what must never happen is a send the log does not show, or a
    // second success: each event's sends are its recorded attempts, one of them succeeded.
    const attempts = await hp.db.prisma.deliveryAttempt.groupBy({
      by: ["eventId"],
      where: { endpointId },
      _count: { _all: true },
    });
    const succeeded = await hp.db.prisma.deliveryAttempt.groupBy({
      by: ["eventId"],
      where: { endpointId, succeeded: true },
      _count: { _all: true },
    });
    const sends = sendsPerEvent(receiver.requests);
    expect(new Map(attempts.map((a) => [a.eventId, a._count._all]))).toEqual(sends);
    expect(succeeded.filter((a) => a._count._all !== 1)).toEqual([]);
    expect(succeeded).toHaveLength(all.length);
  });

  it("stays closed while failures are fewer than the threshold in a row", async () => {
    let n = 0;
    // Every third request fails: never THRESHOLD failures in a row.
    const receiver = await startReceiver(() => ({ status: n++ % 3 === 2 ? 500 : 200 }));
    receivers.push(receiver);
    const endpointId = await endpointAt(receiver.url);
    for (let i = 0; i < 8; i++) {
      await publish(1, `one-${i}`);
      await waitFor(() => receiver.requests.length > i, "the delivery", WAIT_MS);
    }
    await allSucceeded(endpointId, 8);
    // More failures than the threshold in all.
    expect(receiver.requests.filter((_, i) => i % 3 === 2).length).toBeGreaterThanOrEqual(THRESHOLD);
    expect(await endpoint(endpointId)).toMatchObject({ circuitOpenUntil: null, consecutiveFailures: 0 });
  });
});
