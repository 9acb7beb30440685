import type { Delivery, DeliveryAttempt, Endpoint, Event } from "../db/generated/client.ts";
import { eventBody } from "../delivery/payload.ts";
import { endpointFilter } from "../services/access.ts";
import { checkNames } from "../services/inputBounds.ts";
import { replayDelivery } from "../services/replayDelivery.ts";
import { builder, type Context, limitOutbound, workspaceOf } from "./builder.ts";
import { EndpointRef } from "./endpoint.ts";
import { EventRef } from "./event.ts";
import { createdAtRange, MAX_PAGE, paginate, relationTake } from "./pagination.ts";

export const DeliveryStatusEnum = builder.enumType("DeliveryStatus", {
  values: {
    PENDING: { description: "Waiting for its first attempt." },
    SUCCEEDED: { description: "An attempt got a 2xx answer." },
    RETRYING: { description: "Failed; the next attempt is scheduled at nextAttemptAt." },
    FAILED: { description: "Retries exhausted, the endpoint is gone or disabled." },
    CANCELLED: { description: "Stopped before it succeeded (e.g. a cancelled replay)." },
  } as const,
});

export const AttemptTriggerEnum = builder.enumType("AttemptTrigger", {
  values: ["SCHEDULED", "RETRY", "MANUAL", "REPLAY", "TEST"] as const,
});

/** Live messages carry the related rows along; reuse them instead of querying again. */
type WithRelations = { event?: Event; endpoint?: Endpoint; delivery?: Delivery };

/** Prisma batches the findUniques of one tick, so a page of attempts loads its events in one query. */
const eventOf = (a: DeliveryAttempt, ctx: Context): Event | Promise<Event> =>
  (a as DeliveryAttempt & WithRelations).event ??
  ctx.deps.prisma.event.findUniqueOrThrow({ where: { id: a.eventId } });

export const DeliveryAttemptRef = builder.prismaObject("DeliveryAttempt", {
  description: "One HTTP request of a delivery: what was sent and what came back.",
  fields: (t) => ({
    id: t.exposeID("id"),
    number: t.exposeInt("number", { description: "1 for the first attempt of the delivery, then 2, 3, …" }),
    trigger: t.expose("trigger", { type: AttemptTriggerEnum }),
    succeeded: t.exposeBoolean("succeeded"),
    url: t.exposeString("url"),
    requestHeaders: t.expose("requestHeaders", { type: "JSON" }),
    requestBody: t.string({
      description: "The body sent: the event's webhook body, the same bytes for every attempt.",
      resolve: async (a, _args, ctx) => eventBody(await eventOf(a, ctx)),
    }),
    responseStatus: t.exposeInt("responseStatus", { nullable: true }),
    responseHeaders: t.expose("responseHeaders", { type: "JSON", nullable: true }),
    responseBody: t.exposeString("responseBody", {
      nullable: true,
      description: "Truncated to the configured limit.",
    }),
    error: t.exposeString("error", { nullable: true }),
    durationMs: t.exposeInt("durationMs"),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    deliveryId: t.exposeID("deliveryId"),
    event: t.field({ type: EventRef, resolve: (a, _args, ctx) => eventOf(a, ctx) }),
    endpoint: t.field({
      type: EndpointRef,
      resolve: (a, _args, ctx) =>
        (a as DeliveryAttempt & WithRelations).endpoint ??
        ctx.deps.prisma.endpoint.findUniqueOrThrow({ where: { id: a.endpointId } }),
    }),
    delivery: t.field({
      type: DeliveryRef,
      resolve: (a, _args, ctx) =>
        (a as DeliveryAttempt & WithRelations).delivery ??
        ctx.deps.prisma.delivery.findUniqueOrThrow({ where: { id: a.deliveryId } }),
    }),
  }),
});

export const DeliveryRef = builder.prismaObject("Delivery", {
  description: "One event on its way to one endpoint.",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.expose("status", { type: DeliveryStatusEnum }),
    eventType: t.exposeString("eventType"),
    attemptCount: t.exposeInt("attempts"),
    nextAttemptAt: t.expose("nextAttemptAt", { type: "DateTime", nullable: true }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    lastResponseStatus: t.exposeInt("lastResponseStatus", { nullable: true }),
    lastError: t.exposeString("lastError", { nullable: true }),
    succeededAt: t.expose("succeededAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    event: t.relation("event"),
    endpoint: t.relation("endpoint"),
    attempts: t.relation("attemptLog", {
      description: `Its attempts, oldest first: the first \`first\` (default and at most ${MAX_PAGE}).`,
      args: { first: t.arg.int({ defaultValue: MAX_PAGE }) },
      query: (args) => ({ orderBy: { number: "asc" }, take: relationTake(args.first) }),
    }),
  }),
});

const DeliveryFilter = builder.inputType("DeliveryFilter", {
  fields: (t) => ({
    endpointId: t.id(),
    eventId: t.id(),
    status: t.field({ type: [DeliveryStatusEnum] }),
    eventTypes: t.stringList(),
    since: t.field({ type: "DateTime", description: "Created at or after." }),
    until: t.field({ type: "DateTime", description: "Created before." }),
  }),
});

builder.queryFields((t) => ({
  delivery: t.prismaField({
    type: "Delivery",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.deps.prisma.delivery.findFirst({
        ...query,
        where: { id: String(id), workspaceId: workspaceOf(ctx), ...endpointFilter(ctx, "endpointId") },
      }),
  }),
  deliveries: t.connection({
    type: DeliveryRef,
    description: "The delivery log, newest first.",
    args: { filter: t.arg({ type: DeliveryFilter }) },
    resolve: (_root, args, ctx) => {
      const f = args.filter;
      return paginate(
        args,
        [
          { workspaceId: workspaceOf(ctx) },
          endpointFilter(ctx, "endpointId"),
          f?.endpointId ? { endpointId: String(f.endpointId) } : {},
          f?.eventId ? { eventId: String(f.eventId) } : {},
          f?.status?.length ? { status: { in: f.status } } : {},
          f?.eventTypes?.length ? { eventType: { in: checkNames(f.eventTypes, "eventTypes") } } : {},
          createdAtRange(f?.since, f?.until),
        ],
        (query) => ctx.deps.prisma.delivery.findMany(query),
      );
    },
  }),
}));

builder.mutationFields((t) => ({
  replayDelivery: t.field({
    type: DeliveryRef,
    description:
      "Sends this delivery's event to its endpoint again now (a MANUAL attempt), whatever its status.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      await limitOutbound(ctx);
      return replayDelivery(ctx.deps, workspaceOf(ctx), String(id), endpointFilter(ctx, "endpointId"));
    },
  }),
}));
