import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import type PrismaTypes from "../db/generated/pothos-types.ts";
import { getDatamodel } from "../db/generated/pothos-types.ts";
import type { Deps } from "../deps.ts";
import { unauthenticated } from "../errors.ts";
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
}>({
  plugins: [PrismaPlugin, RelayPlugin],
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

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
