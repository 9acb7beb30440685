import { describe, expect, it } from "vitest";
import { type Dispatch, type DispatchInput, prepareDispatch } from "../../../src/delivery/prepareDispatch.ts";

const now = new Date("2026-06-01T12:00:00.000Z");
const later = new Date(now.getTime() + 1_000);
const earlier = new Date(now.getTime() - 1_000);

function delivery(overrides: Partial<DispatchInput> = {}, endpoint: Partial<DispatchInput["endpoint"]> = {}) {
  return {
    status: "PENDING",
    trigger: "SCHEDULED",
    endpointId: "ep_1",
    event: { id: "evt_1", type: "email.sent", occurredAt: now, payload: { a: 1 } },
    endpoint: {
      url: "https://example.com/h",
      format: "STANDARD_WEBHOOKS",
      enabled: true,
      circuitOpenUntil: null,
      headers: {},
      ...endpoint,
    },
    replay: null,
    ...overrides,
  } satisfies DispatchInput;
}

const kindOf = (d: Dispatch) =>
  d.kind === "skip"
    ? `skip${d.settle ? `:${d.settle.status}` : ""}`
    : d.kind === "send"
      ? `send:${d.trigger}`
      : d.kind;

describe("prepareDispatch", () => {
  // Each row: what is loaded, what runs the attempt → what it does.
  const cases: [string, DispatchInput, "MANUAL" | "TEST" | null, string][] = [
    ["a pending delivery is sent", delivery(), null, "send:SCHEDULED"],
    [
      "a retrying one is sent as a retry",
      delivery({ status: "RETRYING", trigger: "RETRY" }),
      null,
      "send:RETRY",
    ],
    ["a settled one is skipped", delivery({ status: "SUCCEEDED" }), null, "skip"],
    ["a failed one is skipped", delivery({ status: "FAILED" }), null, "skip"],
    [
      "one of a cancelled replay is cancelled",
      delivery({ replay: { status: "CANCELLED", endpointId: null } }),
      null,
      "skip:CANCELLED",
    ],
    ["one to a disabled endpoint fails", delivery({}, { enabled: false }), null, "skip:FAILED"],
    [
      "a replay naming a disabled endpoint sends to it",
      delivery({ replay: { status: "RUNNING", endpointId: "ep_1" } }, { enabled: false }),
      null,
      "send:SCHEDULED",
    ],
    ["an open circuit defers it, failing nothing", delivery({}, { circuitOpenUntil: later }), null, "defer"],
    [
      "a circuit past its end lets it through",
      delivery({}, { circuitOpenUntil: earlier }),
      null,
      "send:SCHEDULED",
    ],
    [
      "a manual send ignores the state",
      delivery({ status: "FAILED" }, { enabled: false, circuitOpenUntil: later }),
      "MANUAL",
      "send:MANUAL",
    ],
    ["a test send ignores the circuit", delivery({}, { circuitOpenUntil: later }), "TEST", "send:TEST"],
  ];
  for (const [name, loaded, trigger, expected] of cases) {
    it(name, () => {
      const d = prepareDispatch({
        delivery: loaded,
        trigger,
        now,
        secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        userAgent: "Hookpost/test",
      });
      expect(kindOf(d)).toBe(expected);
    });
  }

  it("builds the signed request, the endpoint's own headers included", () => {
    const d = prepareDispatch({
      delivery: delivery({}, { headers: { "X-Tenant": "acme" } }),
      trigger: null,
      now,
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      userAgent: "Hookpost/test",
    });
    if (d.kind !== "send") throw new Error(d.kind);
    expect(d.request.url).toBe("https://example.com/h");
    expect(JSON.parse(d.request.body)).toEqual({
      id: "evt_1",
      type: "email.sent",
      timestamp: now.toISOString(),
      data: { a: 1 },
    });
    expect(d.request.headers).toMatchObject({
      "webhook-id": "evt_1",
      "webhook-timestamp": String(now.getTime() / 1_000),
      "x-tenant": "acme",
      "user-agent": "Hookpost/test",
    });
    expect(d.request.headers["webhook-signature"]).toMatch(/^v1,/);
  });

  it("builds the request in the endpoint's format", () => {
    const d = prepareDispatch({
      delivery: delivery({}, { format: "POSTHAWK" }),
      trigger: null,
      now,
      secrets: ["posthawk-secret-0123"],
      userAgent: "Hookpost/test",
    });
    if (d.kind !== "send") throw new Error(d.kind);
    expect(JSON.parse(d.request.body)).toMatchObject({ id: "evt_1", type: "send" });
    expect(d.request.headers).toMatchObject({
      "webhook-id": "evt_1",
      "user-agent": "Posthawk-Webhook/1.0",
      "x-posthawk-event": "send",
      "x-posthawk-signature": expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    });
    expect(d.request.headers["webhook-signature"]).toBeUndefined();
  });
});
