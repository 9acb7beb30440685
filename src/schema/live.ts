import { filter, pipe } from "graphql-yoga";
import type { DeliveryAttemptView } from "../pubsub/views.ts";
import { builder, workspaceOf } from "./builder.ts";
import { DeliveryAttemptRef } from "./delivery.ts";

/**
 * Live feeds. Every channel is scoped to the caller's workspace, so ids passed
 * as arguments can only narrow what the caller already may see.
 */
builder.subscriptionFields((t) => ({
  deliveryAttempts: t.field({
    type: DeliveryAttemptRef,
    description: "Every delivery attempt of the workspace as it is recorded.",
    args: { endpointId: t.arg.id(), eventTypes: t.arg.stringList() },
    subscribe: (_root, args, ctx) =>
      pipe(
        ctx.deps.pubsub.subscribe("delivery-attempt", workspaceOf(ctx)),
        filter(
          (a: DeliveryAttemptView) =>
            (!args.endpointId || a.endpointId === String(args.endpointId)) &&
            (!args.eventTypes?.length || args.eventTypes.includes(a.event.type)),
        ),
      ),
    resolve: (attempt) => attempt,
  }),
}));
