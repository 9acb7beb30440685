import type { Delivery } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { notFound } from "../errors.ts";
import { deliverNow } from "./dispatch.ts";

/**
 * Sends the delivery again now as a MANUAL attempt, signed with the endpoint's
 * current secret(s). `scope` narrows which deliveries the caller may reach (src/services/access.ts).
 */
export async function replayDelivery(
  deps: Deps,
  workspaceId: string,
  id: string,
  scope: { endpointId?: { in: string[] } } = {},
): Promise<Delivery> {
  const exists = await deps.prisma.delivery.findFirst({
    where: { id, workspaceId, ...scope },
    select: { id: true },
  });
  if (!exists) throw notFound("delivery", id);
  const outcome = await deliverNow(deps, id, "MANUAL");
  if (outcome.kind === "attempted") return outcome.delivery;
  throw notFound("delivery", id);
}
