import type { Delivery, DeliveryAttempt, Endpoint, Event, Replay } from "../db/generated/client.ts";
import { redactedEndpointHeaders } from "../delivery/redaction.ts";

/**
 * What a live message carries: the row plus what a dashboard row shows without
 * a second query. Dates cross Redis as ISO strings; the DateTime scalar
 * serializes either form.
 */
export type EndpointView = Omit<Endpoint, "secret" | "previousSecret">;
export type DeliveryAttemptView = DeliveryAttempt & {
  event: Event;
  endpoint: EndpointView;
  delivery: Delivery;
};
export type ReplayView = Replay;

/**
 * Signing secrets stay in the database: live messages cross Redis, where any
 * subscriber of the channel (or MONITOR) reads them. Publishers may hand over
 * a full Endpoint row; this is what is sent of it.
 */
export function endpointView(
  endpoint: EndpointView & Partial<Pick<Endpoint, "secret" | "previousSecret">>,
): EndpointView {
  const { secret: _secret, previousSecret: _previousSecret, ...view } = endpoint;
  return { ...view, headers: redactedEndpointHeaders(view) };
}
