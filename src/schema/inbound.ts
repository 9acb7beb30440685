import { type Config, publicBaseUrl } from "../config.ts";
import type { InboundSource } from "../db/generated/client.ts";
import {
  createInboundSource,
  deleteInboundSource,
  findInboundSource,
  listInboundSources,
  updateInboundSource,
} from "../inbound/sources.ts";
import { builder, workspaceOf } from "./builder.ts";
import { createdAtRange, paginate } from "./pagination.ts";

const InboundProviderEnum = builder.enumType("InboundProvider", {
  description: "Who posts to an inbound source. AMAZON_SES posts through an Amazon SNS topic.",
  values: ["RESEND", "SENDGRID", "MAILGUN", "POSTMARK", "AMAZON_SES", "GENERIC"] as const,
});

const InboundMessageStatusEnum = builder.enumType("InboundMessageStatus", {
  description:
    "ACCEPTED: its events were published. REJECTED: refused (see reason). IGNORED: no event type the catalog knows.",
  values: ["ACCEPTED", "REJECTED", "IGNORED"] as const,
});

const InboundSourceRef = builder.prismaObject("InboundSource", {
  description: "Where an email provider posts its webhooks. Its verification credentials are never returned.",
  fields: (t) => ({
    id: t.exposeID("id"),
    provider: t.expose("provider", { type: InboundProviderEnum }),
    name: t.exposeString("name"),
    stream: t.exposeString("stream", {
      nullable: true,
      description: "The stream its events are published on.",
    }),
    url: t.string({
      description: "What the provider is given: POST /inbound/<id> on this Hookpost.",
      resolve: (source, _args, ctx) => inboundUrl(ctx.deps.config.http, source),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const InboundMessageRef = builder.prismaObject("InboundMessage", {
  description: "One request received at an inbound source, and what became of it.",
  fields: (t) => ({
    id: t.exposeID("id"),
    status: t.expose("status", { type: InboundMessageStatusEnum }),
    reason: t.exposeString("reason", { nullable: true }),
    eventIds: t.exposeIDList("eventIds", { description: "The events it produced (or had produced before)." }),
    body: t.exposeString("body", { description: "The raw body, truncated to 4,096 characters." }),
    receivedAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

/** The public base URL when set, else the address the api listens on. */
function inboundUrl(http: Config["http"], source: InboundSource): string {
  return `${publicBaseUrl(http)}/inbound/${source.id}`;
}

const InboundVerificationInput = builder.inputType("InboundVerificationInput", {
  description:
    "GENERIC, RESEND (whsec_…), MAILGUN (webhook signing key): secret. SENDGRID: publicKey. POSTMARK: username and password. AMAZON_SES: topicArn.",
  fields: (t) => ({
    secret: t.string(),
    publicKey: t.string(),
    username: t.string(),
    password: t.string(),
    topicArn: t.string({ description: "AMAZON_SES: the SNS topic whose messages are accepted." }),
  }),
});

const CreateInboundSourceInput = builder.inputType("CreateInboundSourceInput", {
  fields: (t) => ({
    provider: t.field({ type: InboundProviderEnum, required: true }),
    name: t.string({ required: true }),
    stream: t.string(),
    verification: t.field({ type: InboundVerificationInput, required: true }),
  }),
});

const UpdateInboundSourceInput = builder.inputType("UpdateInboundSourceInput", {
  fields: (t) => ({
    name: t.string(),
    stream: t.string({ description: "null removes it." }),
    verification: t.field({ type: InboundVerificationInput, description: "Replaces the stored one whole." }),
  }),
});

const InboundMessageFilter = builder.inputType("InboundMessageFilter", {
  fields: (t) => ({
    status: t.field({ type: InboundMessageStatusEnum }),
    since: t.field({ type: "DateTime" }),
    until: t.field({ type: "DateTime" }),
  }),
});

const CreateInboundSourcePayload = builder
  .objectRef<{ source: InboundSource }>("CreateInboundSourcePayload")
  .implement({ fields: (t) => ({ source: t.expose("source", { type: InboundSourceRef }) }) });

builder.queryFields((t) => ({
  inboundSources: t.field({
    type: [InboundSourceRef],
    description: "The workspace's inbound sources, newest first.",
    resolve: (_root, _args, ctx) => listInboundSources(ctx.deps.prisma, workspaceOf(ctx)),
  }),
  inboundSource: t.field({
    type: InboundSourceRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => findInboundSource(ctx.deps.prisma, workspaceOf(ctx), String(id)),
  }),
  inboundMessages: t.connection({
    type: InboundMessageRef,
    description: "What a source received, newest first.",
    args: {
      sourceId: t.arg.id({ required: true }),
      filter: t.arg({ type: InboundMessageFilter }),
    },
    resolve: (_root, args, ctx) => {
      const f = args.filter;
      return paginate(
        args,
        [
          { workspaceId: workspaceOf(ctx), sourceId: String(args.sourceId) },
          f?.status ? { status: f.status } : {},
          createdAtRange(f?.since, f?.until),
        ],
        (query) => ctx.deps.prisma.inboundMessage.findMany(query),
      );
    },
  }),
}));

builder.mutationFields((t) => ({
  createInboundSource: t.field({
    type: CreateInboundSourcePayload,
    args: { input: t.arg({ type: CreateInboundSourceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      source: await createInboundSource(ctx.deps.prisma, workspaceOf(ctx), input),
    }),
  }),
  updateInboundSource: t.field({
    type: InboundSourceRef,
    args: {
      id: t.arg.id({ required: true }),
      input: t.arg({ type: UpdateInboundSourceInput, required: true }),
    },
    resolve: (_root, { id, input }, ctx) =>
      updateInboundSource(ctx.deps.prisma, workspaceOf(ctx), String(id), input),
  }),
  deleteInboundSource: t.id({
    description: "Deletes the source and its log; the events it produced stay.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteInboundSource(ctx.deps.prisma, workspaceOf(ctx), String(id)),
  }),
}));
