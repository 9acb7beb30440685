import { Repeater } from "graphql-yoga";
import type { Endpoint, ReplayStatus } from "../db/generated/client.ts";
import { notFound } from "../errors.ts";
import type { LiveFeed } from "../pubsub/feed.ts";
import type { ReplayView } from "../pubsub/views.ts";
import { mayReachEndpoint } from "../services/access.ts";
import { eventTypeMatches } from "../services/eventTypes.ts";
import { checkNames } from "../services/inputBounds.ts";
import { builder, workspaceOf } from "./builder.ts";
import { DeliveryAttemptRef } from "./delivery.ts";
import { EndpointRef } from "./endpoint.ts";
import { findReachableReplay, ReplayRef } from "./replay.ts";

/** Lifecycle order of a replay's statuses; the last three are final. */
const STAGE: Record<ReplayStatus, number> = { QUEUED: 0, RUNNING: 1, COMPLETED: 2, CANCELLED: 2, FAILED: 2 };
const FINAL_STAGE = 2;

/**
 * Whether `update` is older than what the subscriber already has: one
 * published between subscribing and reading the current state arrives after
 * it. Counts only grow while a replay runs.
 */
function isOlder(update: ReplayView, latest: ReplayView): boolean {
  const progress = (r: ReplayView) => r.total + r.enqueued + r.delivered + r.failed;
  const stage = STAGE[update.status] - STAGE[latest.status];
  return stage < 0 || (stage === 0 && progress(update) < progress(latest));
}

/** The replay as it is now, then each change, until it is COMPLETED, CANCELLED or FAILED. */
function progressOf(current: ReplayView, updates: LiveFeed<ReplayView>): AsyncIterable<ReplayView> {
  return new Repeater<ReplayView>(async (push, stop) => {
    void stop.then(() => updates.return());
    let latest = current;
    await push(latest);
    while (STAGE[latest.status] < FINAL_STAGE) {
      const { value, done } = await updates.next();
      if (done) break;
      if (isOlder(value, latest)) continue;
      latest = value;
      await push(latest);
    }
    stop();
  });
}

/**
 * Live feeds, over graphql-ws and SSE alike. Every channel is the caller's
 * workspace's, narrowed to a portal link's endpoints (src/services/access.ts),
 * so ids passed as arguments can only narrow what the caller already may
 * see. Messages carry their related rows (see pubsub/views.ts), so resolving
 * them costs no query. A subscriber that falls too far behind
 * is dropped with RATE_LIMITED (see pubsub/feed.ts).
 */
builder.subscriptionFields((t) => ({
  deliveryAttempts: t.field({
    type: DeliveryAttemptRef,
    description:
      "Every delivery attempt of the workspace as it is recorded. endpointId narrows it to one endpoint, eventTypes to some event types (matched as endpoint filters are: exact types or prefixes like email.*).",
    args: { endpointId: t.arg.id(), eventTypes: t.arg.stringList() },
    subscribe: (_root, { endpointId, eventTypes }, ctx) => {
      checkNames(eventTypes, "eventTypes");
      return ctx.deps.pubsub.subscribe(
        "delivery-attempt",
        workspaceOf(ctx),
        (attempt) =>
          mayReachEndpoint(ctx, attempt.endpointId) &&
          (!endpointId || attempt.endpointId === String(endpointId)) &&
          (!eventTypes?.length || eventTypeMatches(eventTypes, attempt.event.type)),
      );
    },
    resolve: (attempt) => attempt,
  }),
  endpointUpdates: t.field({
    type: EndpointRef,
    description: "Endpoints of the workspace as they are enabled or disabled (e.g. after repeated failures).",
    args: { endpointId: t.arg.id() },
    subscribe: (_root, { endpointId }, ctx) =>
      ctx.deps.pubsub.subscribe(
        "endpoint-updated",
        workspaceOf(ctx),
        (endpoint) =>
          mayReachEndpoint(ctx, endpoint.id) && (!endpointId || endpoint.id === String(endpointId)),
      ),
    // Live endpoints come without their signing secrets, which the Endpoint type never exposes.
    resolve: (endpoint) => endpoint as Endpoint,
  }),
  replayProgress: t.field({
    type: ReplayRef,
    description:
      "The replay as it is now, then every change of its counts or status; ends once it is finished.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) => {
      // Subscribed before reading, so no change between the two is missed. The channel is
      // keyed by replay id: nothing of it reaches the caller unless the replay is theirs.
      const updates = ctx.deps.pubsub.subscribe("replay-progress", String(id));
      try {
        await updates.ready;
        const current = await findReachableReplay(ctx, String(id));
        if (!current) throw notFound("replay", String(id));
        return progressOf(current, updates);
      } catch (err) {
        await updates.return();
        throw err;
      }
    },
    resolve: (replay) => replay,
  }),
}));
