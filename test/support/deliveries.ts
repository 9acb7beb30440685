import {
  type DeliveryFilter,
  type DeliveryStatus,
  GetDeliveryDocument,
  type GetDeliveryQuery,
  ListDeliveriesDocument,
  type ListDeliveriesQuery,
} from "../generated/graphql.ts";
import type { GraphqlClient } from "./graphql.ts";
import { waitFor } from "./wait.ts";

export type DeliveryRow = ListDeliveriesQuery["deliveries"]["edges"][number]["node"];
export type DeliveryWithAttempts = NonNullable<GetDeliveryQuery["delivery"]>;

/** The first page (up to 100) of the caller's delivery log matching `filter`, newest first. */
export async function listDeliveries(
  client: GraphqlClient,
  filter: DeliveryFilter = {},
): Promise<DeliveryRow[]> {
  const { deliveries } = await client.ok(ListDeliveriesDocument, { first: 100, filter });
  return deliveries.edges.map((e) => e.node);
}

/** Waits until the delivery reaches `status` and returns it with its attempts. */
export async function waitForDeliveryStatus(
  client: GraphqlClient,
  id: string,
  status: DeliveryStatus,
  timeoutMs?: number,
): Promise<DeliveryWithAttempts> {
  return waitFor(
    async () => {
      const { delivery } = await client.ok(GetDeliveryDocument, { id });
      return delivery?.status === status ? delivery : null;
    },
    `delivery ${id} to be ${status}`,
    timeoutMs,
  );
}

/** The delivery of an event to an endpoint (written in the same transaction as the event). */
export async function deliveryOf(
  client: GraphqlClient,
  eventId: string,
  endpointId: string,
): Promise<DeliveryRow> {
  const [delivery] = await listDeliveries(client, { eventId, endpointId });
  if (!delivery) throw new Error(`no delivery of ${eventId} to ${endpointId}`);
  return delivery;
}
