import type { Delivery, DeliveryAttempt, Endpoint, Event, Replay } from "../db/generated/client.ts";

/**
 * What a live message carries: the row plus what a dashboard row shows without
 * a second query. Dates cross Redis as ISO strings; the DateTime scalar
 * serializes either form.
 */
export type DeliveryAttemptView = DeliveryAttempt & {
  event: Event;
  endpoint: Endpoint;
  delivery: Delivery;
};
export type EndpointView = Endpoint;
export type ReplayView = Replay;
