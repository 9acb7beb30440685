import type { InputFieldBuilder, SchemaTypes } from "@pothos/core";
import { formatDurationMs, MAX_RETRY_STEPS } from "../delivery/endpointPolicy.ts";
import { builder } from "./builder.ts";

/** The delivery policy fields of CreateEndpointInput and UpdateEndpointInput. */
export const deliveryPolicyInputFields = <T extends SchemaTypes>(t: InputFieldBuilder<T, "InputObject">) => ({
  retrySchedule: t.stringList({
    description:
      `Delays before each retry, e.g. ["5s","10s","20s"] (ms, s, m, h, d; 100ms to 7d, at most ${MAX_RETRY_STEPS}): ` +
      "one attempt more than delays. Null: the server's RETRY_SCHEDULE.",
  }),
  retryForSeconds: t.int({
    description:
      "Give up once the first attempt is this old: the delivery is FAILED and delivery.exhausted emitted. " +
      "Null: only when the schedule ends.",
  }),
  rateLimitPerSecond: t.int({
    description:
      "At most this many deliveries a second to this endpoint, across every worker; the rest wait. Null: no limit.",
  }),
});

builder.prismaObjectFields("Endpoint", (t) => ({
  retrySchedule: t.stringList({
    nullable: true,
    description: "Its own delays before each retry; null when it follows the server's RETRY_SCHEDULE.",
    resolve: (endpoint) =>
      endpoint.retryScheduleMs.length > 0 ? endpoint.retryScheduleMs.map(formatDurationMs) : null,
  }),
  retryForSeconds: t.exposeInt("retryForSeconds", {
    nullable: true,
    description: "Deliveries give up once their first attempt is this old; null: when the schedule ends.",
  }),
  rateLimitPerSecond: t.exposeInt("rateLimitPerSecond", {
    nullable: true,
    description: "Deliveries a second this endpoint receives at most; null: no limit.",
  }),
}));
