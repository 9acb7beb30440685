import type { DeliveryAttempt, Endpoint, Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { badInput } from "../errors.ts";
import { newId } from "../ids.ts";
import { deliverNow } from "./dispatch.ts";
import { catalogTypeOf, unknownEventType } from "./eventTypes.ts";
import { sampleData } from "./samples.ts";

export type TestSendResult = {
  success: boolean;
  status: number | null;
  body: string | null;
  error: string | null;
  durationMs: number;
  attempt: DeliveryAttempt;
};

/**
 * Sends a sample event to one endpoint now, through the same pipeline as real
 * traffic, and logs it as a TEST attempt. Test events are marked so that
 * lists and replays leave them out; they never count against the endpoint's health.
 */
export async function testEndpoint(
  deps: Deps,
  endpoint: Endpoint,
  eventType: string | null,
): Promise<TestSendResult> {
  const type = catalogTypeOf(eventType ?? "webhook.test");
  if (type === undefined) throw badInput(unknownEventType(eventType ?? ""), "eventType");
  const now = new Date();
  const eventId = newId("event", now.getTime());
  const deliveryId = newId("delivery", now.getTime());
  await deps.prisma.$transaction([
    deps.prisma.event.create({
      data: {
        id: eventId,
        workspaceId: endpoint.workspaceId,
        type,
        payload: sampleData(type) as Prisma.InputJsonObject,
        occurredAt: now,
        isTest: true,
      },
    }),
    deps.prisma.delivery.create({
      data: {
        id: deliveryId,
        workspaceId: endpoint.workspaceId,
        eventId,
        endpointId: endpoint.id,
        eventType: type,
        trigger: "TEST",
      },
    }),
  ]);
  const outcome = await deliverNow(deps, deliveryId, "TEST");
  // Test sends always run: only scheduled attempts are skipped or deferred.
  if (outcome.kind !== "attempted") throw new Error(`test send not attempted (${outcome.kind})`);
  const { result, attempt } = outcome;
  return {
    success: result.ok,
    status: result.status,
    body: result.body,
    error: result.error,
    durationMs: Math.round(result.durationMs),
    attempt,
  };
}
