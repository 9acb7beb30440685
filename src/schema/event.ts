import { endpointFilter, eventFilter } from "../services/access.ts";
import { publishEvent, publishEvents } from "../services/events.ts";
import { checkNames } from "../services/inputBounds.ts";
import { builder, workspaceOf } from "./builder.ts";
import { createdAtRange, MAX_PAGE, paginate, relationTake } from "./pagination.ts";

export const EventRef = builder.prismaObject("Event", {
  description: "An email event accepted for delivery.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "evt_…; also the webhook-id header of every request for it." }),
    type: t.exposeString("type"),
    stream: t.exposeString("stream", { nullable: true }),
    data: t.expose("payload", { type: "JSON" }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    idempotencyKey: t.exposeString("idempotencyKey", { nullable: true }),
    isTest: t.exposeBoolean("isTest", {
      description: "Made by testEndpoint; left out of lists and replays.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    deliveries: t.relation("deliveries", {
      description: `Its deliveries, oldest first: the first \`first\` (default and at most ${MAX_PAGE}).`,
      args: { first: t.arg.int({ defaultValue: MAX_PAGE }) },
      query: (args, ctx) => ({
        where: endpointFilter(ctx, "endpointId"),
        orderBy: { createdAt: "asc" },
        take: relationTake(args.first),
      }),
    }),
  }),
});

const EventFilter = builder.inputType("EventFilter", {
  fields: (t) => ({
    types: t.stringList(),
    stream: t.string(),
    since: t.field({ type: "DateTime", description: "Accepted at or after." }),
    until: t.field({ type: "DateTime", description: "Accepted before." }),
    includeTests: t.boolean({ description: "Include testEndpoint's events (default false)." }),
  }),
});

const PublishEventInput = builder.inputType("PublishEventInput", {
  fields: (t) => ({
    type: t.string({
      required: true,
      description: "A type from the eventTypes query, e.g. email.delivered.",
    }),
    data: t.field({ type: "JSON", description: "The event's fields: a JSON object." }),
    payload: t.field({ type: "JSON", description: "Alias of data." }),
    stream: t.string({ description: "Message stream or sending domain, for endpoints that filter on it." }),
    idempotencyKey: t.string({
      description: "Publishing again with the same key returns the first event and delivers nothing new.",
    }),
    occurredAt: t.field({ type: "DateTime", description: "When it happened (default: now)." }),
  }),
});

function toPublishInput(input: {
  type: string;
  data?: unknown;
  payload?: unknown;
  stream?: string | null;
  idempotencyKey?: string | null;
  occurredAt?: Date | null;
}) {
  return { ...input, data: input.data ?? input.payload ?? {} };
}

builder.queryFields((t) => ({
  event: t.prismaField({
    type: "Event",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.deps.prisma.event.findFirst({
        ...query,
        where: { id: String(id), workspaceId: workspaceOf(ctx), ...eventFilter(ctx) },
      }),
  }),
  events: t.connection({
    type: EventRef,
    description: "Accepted events, newest first.",
    args: { filter: t.arg({ type: EventFilter }) },
    resolve: (_root, args, ctx) => {
      const f = args.filter;
      return paginate(
        args,
        [
          { workspaceId: workspaceOf(ctx) },
          eventFilter(ctx),
          f?.types?.length ? { type: { in: checkNames(f.types, "types") } } : {},
          f?.stream ? { stream: f.stream } : {},
          f?.includeTests ? {} : { isTest: false },
          createdAtRange(f?.since, f?.until),
        ],
        (query) => ctx.deps.prisma.event.findMany(query),
      );
    },
  }),
}));

builder.mutationFields((t) => ({
  publishEvent: t.field({
    type: EventRef,
    description: "Accepts an event and delivers it to every endpoint that subscribes to its type.",
    args: { input: t.arg({ type: PublishEventInput, required: true }) },
    authScopes: { publish: true },
    skipTypeScopes: true,
    resolve: (_root, { input }, ctx) => publishEvent(ctx.deps, workspaceOf(ctx), toPublishInput(input)),
  }),
  publishEvents: t.field({
    type: [EventRef],
    description: "Publishes up to 1,000 events in one transaction; returns them in input order.",
    args: { inputs: t.arg({ type: [PublishEventInput], required: true }) },
    authScopes: { publish: true },
    skipTypeScopes: true,
    resolve: (_root, { inputs }, ctx) =>
      publishEvents(ctx.deps, workspaceOf(ctx), inputs.map(toPublishInput)),
  }),
}));
