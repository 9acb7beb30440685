import type { Endpoint } from "../db/generated/client.ts";
import { redactedEndpointHeaders } from "../delivery/redaction.ts";
import { badInput } from "../errors.ts";
import {
  checkEndpointReachable,
  checkMayCreateEndpoints,
  endpointFilter,
  mayReachEndpoint,
} from "../services/access.ts";
import {
  createEndpoint,
  deleteEndpoint,
  findEndpoint,
  rotateEndpointSecret,
  updateEndpoint,
} from "../services/endpoints.ts";
import { filtersReceiving } from "../services/eventTypes.ts";
import { type TestSendResult, testEndpoint } from "../services/testSend.ts";
import { builder, limitOutbound, workspaceOf } from "./builder.ts";
import { DeliveryAttemptRef } from "./delivery.ts";
import { deliveryPolicyInputFields } from "./endpointPolicy.ts";
import { paginate } from "./pagination.ts";

export const EndpointRef = builder.prismaObject("Endpoint", {
  description: "A URL that receives the workspace's events as signed POSTs.",
  fields: (t) => ({
    id: t.exposeID("id"),
    url: t.exposeString("url"),
    description: t.exposeString("description"),
    eventTypes: t.exposeStringList("eventTypes", {
      description: 'Types this endpoint receives: "*", exact types, or prefixes like "email.*".',
    }),
    streams: t.exposeStringList("streams", {
      description: "Message streams / sending domains received; empty means all.",
    }),
    enabled: t.exposeBoolean("enabled"),
    disabledReason: t.exposeString("disabledReason", { nullable: true }),
    disabledAt: t.expose("disabledAt", { type: "DateTime", nullable: true }),
    headers: t.field({
      type: "JSON",
      description: "Custom headers sent with every request; sensitive ones show a redacted value.",
      resolve: (endpoint) => redactedEndpointHeaders(endpoint),
    }),
    sensitiveHeaders: t.exposeStringList("sensitiveHeaders", {
      description: "Custom headers marked sensitive (authorization, cookie, x-api-key … always are).",
    }),
    consecutiveFailures: t.exposeInt("consecutiveFailures"),
    circuitOpenUntil: t.expose("circuitOpenUntil", {
      type: "DateTime",
      nullable: true,
      description:
        "Set after repeated failures: until then its scheduled deliveries wait, sending nothing; " +
        "then one is sent as a probe, and the first success sends them all. Null when closed.",
    }),
    previousSecretExpiresAt: t.expose("previousSecretExpiresAt", {
      type: "DateTime",
      nullable: true,
      description: "Until then requests also carry a signature made with the previous secret.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const EndpointFilter = builder.inputType("EndpointFilter", {
  fields: (t) => ({
    enabled: t.boolean(),
    eventType: t.string({ description: "Only endpoints that would receive this event type." }),
  }),
});

const CreateEndpointInput = builder.inputType("CreateEndpointInput", {
  fields: (t) => ({
    url: t.string({ required: true }),
    eventTypes: t.stringList({
      required: true,
      description: 'Exact types, prefixes like "email.*", or "*" for all.',
    }),
    streams: t.stringList({ description: "Only events of these streams / domains (default: all)." }),
    description: t.string(),
    enabled: t.boolean(),
    headers: t.field({
      type: "JSON",
      description: "Custom headers: an object of header name to string value.",
    }),
    sensitiveHeaders: t.stringList({
      description: "Custom headers whose values are stored and shown redacted.",
    }),
    ...deliveryPolicyInputFields(t),
  }),
});

const UpdateEndpointInput = builder.inputType("UpdateEndpointInput", {
  fields: (t) => ({
    url: t.string(),
    eventTypes: t.stringList(),
    streams: t.stringList(),
    description: t.string(),
    enabled: t.boolean(),
    headers: t.field({ type: "JSON" }),
    sensitiveHeaders: t.stringList(),
    ...deliveryPolicyInputFields(t),
  }),
});

const CreateEndpointPayload = builder
  .objectRef<{ endpoint: Endpoint; secret: string }>("CreateEndpointPayload")
  .implement({
    fields: (t) => ({
      endpoint: t.expose("endpoint", { type: EndpointRef }),
      secret: t.exposeString("secret", {
        description: "The signing secret (whsec_…). Store it to verify requests.",
      }),
    }),
  });

const RotateSecretPayload = builder
  .objectRef<{ endpoint: Endpoint; secret: string; previousSecretExpiresAt: Date | null }>(
    "RotateSecretPayload",
  )
  .implement({
    fields: (t) => ({
      endpoint: t.expose("endpoint", { type: EndpointRef }),
      secret: t.exposeString("secret", { description: "The new signing secret." }),
      previousSecretExpiresAt: t.expose("previousSecretExpiresAt", { type: "DateTime", nullable: true }),
    }),
  });

const TestEndpointResult = builder.objectRef<TestSendResult>("TestEndpointResult").implement({
  fields: (t) => ({
    success: t.exposeBoolean("success"),
    status: t.exposeInt("status", {
      nullable: true,
      description: "HTTP status, null when no response came.",
    }),
    body: t.exposeString("body", { nullable: true, description: "Response body (truncated)." }),
    error: t.exposeString("error", { nullable: true }),
    durationMs: t.exposeInt("durationMs"),
    attempt: t.expose("attempt", { type: DeliveryAttemptRef }),
  }),
});

function headersInput(value: unknown): Record<string, unknown> | null {
  if (value == null) return null;
  if (typeof value !== "object" || Array.isArray(value))
    throw badInput("headers must be an object of name to value", "headers");
  return value as Record<string, unknown>;
}

builder.queryFields((t) => ({
  endpoint: t.prismaField({
    type: "Endpoint",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      mayReachEndpoint(ctx, String(id))
        ? ctx.deps.prisma.endpoint.findFirst({
            ...query,
            where: { id: String(id), workspaceId: workspaceOf(ctx) },
          })
        : null,
  }),
  endpoints: t.connection({
    type: EndpointRef,
    args: { filter: t.arg({ type: EndpointFilter }) },
    resolve: (_root, args, ctx) => {
      const f = args.filter;
      return paginate(
        args,
        [
          { workspaceId: workspaceOf(ctx) },
          endpointFilter(ctx, "id"),
          f?.enabled != null ? { enabled: f.enabled } : {},
          f?.eventType ? { eventTypes: { hasSome: filtersReceiving(f.eventType) } } : {},
        ],
        (query) => ctx.deps.prisma.endpoint.findMany(query),
      );
    },
  }),
}));

builder.mutationFields((t) => ({
  createEndpoint: t.field({
    type: CreateEndpointPayload,
    args: { input: t.arg({ type: CreateEndpointInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      checkMayCreateEndpoints(ctx);
      return createEndpoint(ctx.deps, workspaceOf(ctx), { ...input, headers: headersInput(input.headers) });
    },
  }),
  updateEndpoint: t.field({
    type: EndpointRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateEndpointInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => {
      checkEndpointReachable(ctx, String(id));
      return updateEndpoint(ctx.deps, workspaceOf(ctx), String(id), {
        ...input,
        headers: headersInput(input.headers),
      });
    },
  }),
  deleteEndpoint: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => {
      checkEndpointReachable(ctx, String(id));
      return deleteEndpoint(ctx.deps, workspaceOf(ctx), String(id));
    },
  }),
  rotateEndpointSecret: t.field({
    type: RotateSecretPayload,
    args: {
      id: t.arg.id({ required: true }),
      gracePeriodSeconds: t.arg.int({ description: "How long the old secret keeps signing (default 24 h)." }),
    },
    resolve: async (_root, { id, gracePeriodSeconds }, ctx) => {
      checkEndpointReachable(ctx, String(id));
      const { endpoint, secret } = await rotateEndpointSecret(
        ctx.deps,
        workspaceOf(ctx),
        String(id),
        gracePeriodSeconds,
      );
      return { endpoint, secret, previousSecretExpiresAt: endpoint.previousSecretExpiresAt };
    },
  }),
  testEndpoint: t.field({
    type: TestEndpointResult,
    args: {
      id: t.arg.id({ required: true }),
      eventType: t.arg.string({ description: "Send a sample of this type instead of webhook.test." }),
    },
    resolve: async (_root, { id, eventType }, ctx) => {
      checkEndpointReachable(ctx, String(id));
      await limitOutbound(ctx);
      const endpoint = await findEndpoint(ctx.deps, workspaceOf(ctx), String(id));
      return testEndpoint(ctx.deps, endpoint, eventType ?? null);
    },
  }),
}));
