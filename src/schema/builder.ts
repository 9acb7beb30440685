import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import type PrismaTypes from "../db/generated/pothos-types.ts";
import { getDatamodel } from "../db/generated/pothos-types.ts";
import type { Deps } from "../deps.ts";
import { forbidden, unauthenticated } from "../errors.ts";
import { scopeGrants } from "../services/apiKeys.ts";
import type { Viewer } from "../services/auth.ts";

/**
 * Resolved once per request (HTTP or WebSocket) at the edge: who is calling,
 * and the services' dependencies. Resolvers stay thin and call services.
 */
export type Context = Readonly<{ viewer: Viewer | null; deps: Deps }>;

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  AuthScopes: ReturnType<typeof scopeGrants>;
}>({
  // Scope checks run before any other plugin's wrapping of a resolver.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => scopeGrants(ctx.viewer?.scopes ?? []),
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer
        ? forbidden(
            ctx.viewer.portal
              ? "this portal link is read-only"
              : "this API key's scopes do not allow this operation",
          )
        : unauthenticated(),
  },
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.deps.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    // Warn in development when a resolver's query could have been folded into its parent's.
    onUnusedQuery: process.env.NODE_ENV === "production" ? null : "warn",
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

/** The caller's workspace; every resolver that touches data goes through it. */
export function workspaceOf(ctx: Context): string {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer.workspaceId;
}

/** Counts a call that sends requests out (a test send, a replay) against the caller's limit for them. */
export async function limitOutbound(ctx: Context): Promise<void> {
  if (!ctx.viewer) throw unauthenticated();
  await ctx.deps.rateLimits.outbound(ctx.viewer);
}

// Queries and subscriptions need READ, mutations ADMIN; publishEvent(s) ask for PUBLISH instead.
builder.queryType({ authScopes: { read: true } });
builder.mutationType({ authScopes: { admin: true } });
builder.subscriptionType({ authScopes: { read: true } });
