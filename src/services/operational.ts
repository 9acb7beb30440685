import type { Endpoint } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { recordEvents } from "./events.ts";

/**
 * Hookpost's own notices (endpoint.disabled / endpoint.enabled /
 * delivery.exhausted / delivery.recovered) are stored as events of the
 * workspace — so they show in the event log and reach endpoints subscribed to
 * them — and endpoint changes are published live.
 */
export async function recordOperationalEvent(
  deps: Deps,
  workspaceId: string,
  type: "endpoint.disabled" | "endpoint.enabled" | "delivery.exhausted" | "delivery.recovered",
  data: Record<string, unknown>,
): Promise<void> {
  try {
    await recordEvents(deps, workspaceId, [{ type, data }]);
  } catch (err) {
    // A notice must never break the delivery that caused it.
    deps.logger.error({ err, type, workspaceId }, "could not record operational event");
  }
}

export async function publishEndpointChange(deps: Deps, endpoint: Endpoint): Promise<void> {
  deps.pubsub.publish("endpoint-updated", endpoint.workspaceId, endpoint);
  await recordOperationalEvent(
    deps,
    endpoint.workspaceId,
    endpoint.enabled ? "endpoint.enabled" : "endpoint.disabled",
    {
      endpointId: endpoint.id,
      url: endpoint.url,
      reason: endpoint.disabledReason,
    },
  );
}
