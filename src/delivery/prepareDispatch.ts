import { formatRequest } from "./formats/index.ts";
import type { WebhookFormat } from "./formats/types.ts";
import type { DeliveryState, Trigger } from "./nextState.ts";

/** What one attempt needs to know of a delivery, as loaded. */
export type DispatchInput = {
  status: DeliveryState;
  /** The trigger its next scheduled attempt records. */
  trigger: Trigger;
  endpointId: string;
  event: { id: string; type: string; occurredAt: Date | string; payload: unknown };
  endpoint: {
    url: string;
    format: WebhookFormat;
    enabled: boolean;
    circuitOpenUntil: Date | null;
    headers: unknown;
  };
  /** The replay that last reset it. */
  replay: { status: string; endpointId: string | null } | null;
};

export type SignedRequest = { url: string; headers: Record<string, string>; body: string };

export type Dispatch =
  /** Nothing to send; `settle`: the delivery's final state to record first. */
  | {
      kind: "skip";
      reason: string;
      settle?: { status: "CANCELLED" } | { status: "FAILED"; lastError: string };
    }
  /** Not now: it waits, due, in the database until its endpoint's open circuit lets a probe through. */
  | { kind: "defer"; reason: "circuit-open" }
  | { kind: "send"; trigger: Trigger; request: SignedRequest };

const ACTIVE = new Set<DeliveryState>(["PENDING", "RETRYING"]);

/**
 * Decides what an attempt does with a delivery, and builds its signed request.
 * Scheduled work (`trigger` null) only sends PENDING/RETRYING deliveries of
 * enabled endpoints whose circuit is closed; MANUAL and TEST attempts send
 * whatever the state. Pure: `now`, `secrets` and `userAgent` come from the caller.
 */
export function prepareDispatch(input: {
  delivery: DispatchInput;
  trigger: "MANUAL" | "TEST" | null;
  now: Date;
  secrets: readonly string[];
  userAgent: string;
}): Dispatch {
  const { delivery, now } = input;
  if (input.trigger === null) {
    if (!ACTIVE.has(delivery.status)) return { kind: "skip", reason: `delivery is ${delivery.status}` };
    // An attempt in flight when its replay was cancelled can leave it RETRYING; its retry stops here.
    if (delivery.replay?.status === "CANCELLED") {
      return { kind: "skip", reason: "its replay was cancelled", settle: { status: "CANCELLED" } };
    }
    // A replay that names a disabled endpoint sends to it anyway: the operator asked for that one.
    if (!delivery.endpoint.enabled && delivery.replay?.endpointId !== delivery.endpointId) {
      return {
        kind: "skip",
        reason: "endpoint is disabled",
        settle: { status: "FAILED", lastError: "endpoint is disabled" },
      };
    }
    const until = delivery.endpoint.circuitOpenUntil;
    if (until !== null && until > now) return { kind: "defer", reason: "circuit-open" };
  }
  // The one place the request is built, in the endpoint's format; its headers are stored as the attempt's requestHeaders.
  const { headers, body } = formatRequest({
    format: delivery.endpoint.format,
    event: delivery.event,
    timestampS: Math.floor(now.getTime() / 1_000),
    secrets: input.secrets,
    userAgent: input.userAgent,
    custom: delivery.endpoint.headers as Record<string, string>,
  });
  return {
    kind: "send",
    trigger: input.trigger ?? delivery.trigger,
    request: { url: delivery.endpoint.url, headers, body },
  };
}
