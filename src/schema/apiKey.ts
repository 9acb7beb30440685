import type { ApiKey } from "../db/generated/client.ts";
import { issueApiKey, listApiKeys, revokeApiKey } from "../services/apiKeys.ts";
import { builder, workspaceOf } from "./builder.ts";

const ApiKeyScopeEnum = builder.enumType("ApiKeyScope", {
  description:
    "ADMIN: everything. PUBLISH: publishEvent and publishEvents only. READ: queries and subscriptions.",
  values: ["ADMIN", "PUBLISH", "READ"] as const,
});

const ApiKeyRef = builder.prismaObject("ApiKey", {
  description: "A credential of the workspace. The key itself is shown once, when it is created.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    prefix: t.exposeString("prefix", { description: "The key's first characters, to tell keys apart." }),
    scopes: t.expose("scopes", { type: [ApiKeyScopeEnum] }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    lastUsedAt: t.expose("lastUsedAt", {
      type: "DateTime",
      nullable: true,
      description: "Written in batches: up to API_KEY_LAST_USED_FLUSH_MS behind.",
    }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
  }),
});

const CreateApiKeyInput = builder.inputType("CreateApiKeyInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [ApiKeyScopeEnum], required: true }),
  }),
});

const CreateApiKeyPayload = builder
  .objectRef<{ apiKey: ApiKey; key: string }>("CreateApiKeyPayload")
  .implement({
    fields: (t) => ({
      apiKey: t.expose("apiKey", { type: ApiKeyRef }),
      key: t.exposeString("key", { description: "The key (hp_…), shown only here: store it now." }),
    }),
  });

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyRef],
    description: "The workspace's API keys, revoked ones included, newest first.",
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => listApiKeys(ctx.deps.prisma, workspaceOf(ctx)),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_root, { input }, ctx) => issueApiKey(ctx.deps.prisma, workspaceOf(ctx), input),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: "Revoked keys stop working within 10 s on every api process.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => revokeApiKey(ctx.deps.prisma, workspaceOf(ctx), String(id)),
  }),
}));
