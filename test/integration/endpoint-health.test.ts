import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateEndpointDocument, PublishEventsDocument } from "../generated/graphql.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const EVENTS = 600;
const PER_PUBLISH = 50;

/**
 * A flaky but healthy receiver: the first attempt of every third event gets
 * 500, every later attempt 200. Every retry succeeds, so no delivery fails
 * for good and the endpoint must stay enabled, whatever order concurrent
 * workers record their attempts in.
 */
describe("a flaky but healthy endpoint", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  let receiver: Receiver;

  beforeAll(async () => {
    hp = await startTestHookpost({
      env: {
        RETRY_SCHEDULE: "100ms,200ms,300ms",
        ENDPOINT_FAILURE_THRESHOLD: "20",
        CIRCUIT_FAILURE_THRESHOLD: "10",
        SWEEP_GRACE_MS: "600000",
        // The receiver shares this loaded process: no attempt may time out.
        DELIVERY_TIMEOUT_MS: "10000",
      },
    });
    client = hp.workspace.client;
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  it("gets every delivery, stays enabled, and its stored health matches its attempts", async () => {
    const seen = new Set<string>();
    receiver = await startReceiver((req) => {
      const eventId = String(req.headers["webhook-id"]);
      const { n } = (JSON.parse(req.body) as { data: { n: number } }).data;
      const first = !seen.has(eventId);
      seen.add(eventId);
      return { status: first && n % 3 === 0 ? 500 : 200 };
    });
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.sent"] },
    });
    const endpointId = createEndpoint.endpoint.id;

    // Two publishers at a time, so attempts of different bursts are recorded concurrently.
    const publishes = Array.from({ length: EVENTS / PER_PUBLISH }, (_, p) => p);
    for (let i = 0; i < publishes.length; i += 2) {
      await Promise.all(
        publishes.slice(i, i + 2).map((p) =>
          client.ok(PublishEventsDocument, {
            inputs: Array.from({ length: PER_PUBLISH }, (_, k) => ({
              type: "email.sent",
              data: { n: p * PER_PUBLISH + k },
            })),
          }),
        ),
      );
    }

    const prisma = hp.db.prisma;
    await waitFor(
      async () => (await prisma.delivery.count({ where: { endpointId, status: "SUCCEEDED" } })) === EVENTS,
      "every delivery to succeed",
      120_000,
    );
    expect(await prisma.delivery.count({ where: { endpointId } })).toBe(EVENTS);
    expect(seen.size).toBe(EVENTS);

    const endpoint = await prisma.endpoint.findUniqueOrThrow({ where: { id: endpointId } });
    expect(endpoint).toMatchObject({
      enabled: true,
      disabledReason: null,
      consecutiveFailures: 0,
      failedAttemptsInRow: 0,
      failingSince: null,
      circuitOpenUntil: null,
    });

    // Every third event's first attempt got 500. On a loaded machine an attempt may also time
    // out (a real failure, retried like any other): none of that disables a healthy endpoint.
    const failed = await prisma.deliveryAttempt.findMany({
      where: { endpointId, succeeded: false },
      select: { responseStatus: true, error: true },
    });
    expect(failed.filter((a) => a.responseStatus === 500).length).toBeLessThanOrEqual(EVENTS / 3);
    expect(failed.every((a) => a.responseStatus === 500 || /timed out/.test(a.error ?? ""))).toBe(true);
    expect(await prisma.deliveryAttempt.count({ where: { endpointId, succeeded: true } })).toBe(EVENTS);

    // No notice of trouble was ever recorded.
    const notices = await prisma.event.count({
      where: { workspaceId: hp.workspace.id, type: { in: ["endpoint.disabled", "delivery.exhausted"] } },
    });
    expect(notices).toBe(0);
  }, 180_000);
});
