import type { Replay } from "../db/generated/client.ts";
import { notFound } from "../errors.ts";
import { checkReplayTarget, endpointFilter, mayReachEndpoint } from "../services/access.ts";
import { cancelReplay, findReplay, requestReplay } from "../services/replays.ts";
import { builder, type Context, limitOutbound, workspaceOf } from "./builder.ts";
import { paginate } from "./pagination.ts";

export const ReplayStatusEnum = builder.enumType("ReplayStatus", {
  values: {
    QUEUED: { description: "Accepted; its job has not started yet." },
    RUNNING: { description: "Enqueueing deliveries, or waiting for them to finish." },
    COMPLETED: { description: "Every delivery it enqueued has SUCCEEDED or FAILED." },
    CANCELLED: { description: "Stopped by cancelReplay; what was not yet sent was cancelled." },
    FAILED: { description: "The replay job itself failed; see error." },
  } as const,
});

export const ReplayRef = builder.prismaObject("Replay", {
  description: "A batch re-delivery of a time range of events, tracked live (replayProgress).",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.expose("status", { type: ReplayStatusEnum }),
    since: t.expose("since", { type: "DateTime", description: "Events accepted at or after." }),
    until: t.expose("until", { type: "DateTime", description: "Events accepted before." }),
    endpoint: t.relation("endpoint", {
      nullable: true,
      description: "The one endpoint replayed to; null means every enabled endpoint that matches.",
    }),
    eventTypes: t.exposeStringList("eventTypes", { description: "Only these event types; empty means all." }),
    onlyFailed: t.exposeBoolean("onlyFailed", { description: "Only deliveries whose status was FAILED." }),
    total: t.exposeInt("total", { description: "Deliveries it covers so far (grows while RUNNING)." }),
    enqueued: t.exposeInt("enqueued", { description: "Of those, handed to the delivery queue." }),
    delivered: t.exposeInt("delivered", { description: "Of those, SUCCEEDED." }),
    failed: t.exposeInt("failed", { description: "Of those, FAILED after their retries." }),
    error: t.exposeString("error", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
  }),
});

const ReplayEventsInput = builder.inputType("ReplayEventsInput", {
  fields: (t) => ({
    since: t.field({ type: "DateTime", required: true, description: "Events accepted at or after." }),
    until: t.field({
      type: "DateTime",
      required: true,
      description: "Events accepted before. The span is limited (REPLAY_MAX_SPAN_DAYS).",
    }),
    endpointId: t.id({
      description: "Only this endpoint, even if disabled. Default: every enabled endpoint that matches.",
    }),
    eventTypes: t.stringList({ description: "Only these exact event types. Default: all." }),
    onlyFailed: t.boolean({ description: "Only deliveries whose status is FAILED (default false)." }),
  }),
});

const ReplayFilter = builder.inputType("ReplayFilter", {
  fields: (t) => ({
    status: t.field({ type: [ReplayStatusEnum] }),
  }),
});

/** The replay, if it is the caller's workspace's and made for an endpoint the caller may reach. */
export async function findReachableReplay(ctx: Context, id: string): Promise<Replay | null> {
  const replay = await findReplay(ctx.deps, workspaceOf(ctx), id);
  return replay && mayReachEndpoint(ctx, replay.endpointId) ? replay : null;
}

builder.queryFields((t) => ({
  replay: t.field({
    type: ReplayRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => findReachableReplay(ctx, String(id)),
  }),
  replays: t.connection({
    type: ReplayRef,
    description: "Replays, newest first.",
    args: { filter: t.arg({ type: ReplayFilter }) },
    resolve: (_root, args, ctx) =>
      paginate(
        args,
        [
          { workspaceId: workspaceOf(ctx) },
          endpointFilter(ctx, "endpointId"),
          args.filter?.status?.length ? { status: { in: args.filter.status } } : {},
        ],
        (query) => ctx.deps.prisma.replay.findMany(query),
      ),
  }),
}));

builder.mutationFields((t) => ({
  replayEvents: t.field({
    type: ReplayRef,
    description:
      "Re-delivers the events of a time range in the background and returns the Replay at once. " +
      "While one with the same filters is QUEUED or RUNNING, returns that one.",
    args: { input: t.arg({ type: ReplayEventsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpointId = input.endpointId == null ? null : String(input.endpointId);
      checkReplayTarget(ctx, endpointId);
      await limitOutbound(ctx);
      return requestReplay(ctx.deps, workspaceOf(ctx), { ...input, endpointId });
    },
  }),
  cancelReplay: t.field({
    type: ReplayRef,
    description: "Stops a replay: nothing more is enqueued and its deliveries not yet sent are cancelled.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      if (!(await findReachableReplay(ctx, String(id)))) throw notFound("replay", String(id));
      return cancelReplay(ctx.deps, workspaceOf(ctx), String(id));
    },
  }),
}));
