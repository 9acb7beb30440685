import { publicBaseUrl } from "../config.ts";
import { unauthenticated } from "../errors.ts";
import { scopeGrants } from "../services/apiKeys.ts";
import type { Viewer } from "../services/auth.ts";
import {
  createPortalSession,
  DEFAULT_PORTAL_EXPIRY_S,
  MAX_PORTAL_ENDPOINTS,
  MAX_PORTAL_EXPIRY_S,
  MIN_PORTAL_EXPIRY_S,
  type PortalSession,
} from "../services/portalSessions.ts";
import { builder, type Context } from "./builder.ts";

const PortalSessionRef = builder.objectRef<PortalSession>("PortalSession").implement({
  description: "A link to the portal for one workspace, optionally limited to some endpoints and to reading.",
  fields: (t) => ({
    url: t.exposeString("url", {
      description:
        "The portal with the token in its fragment (#token=…), which browsers never send to servers.",
    }),
    token: t.exposeString("token", {
      description: "Accepted wherever an API key is: Authorization: Bearer, graphql-ws connectionParams.",
    }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
  }),
});

const CreatePortalSessionInput = builder.inputType("CreatePortalSessionInput", {
  fields: (t) => ({
    expiresInSeconds: t.int({
      description: `How long the link works: ${MIN_PORTAL_EXPIRY_S} to ${MAX_PORTAL_EXPIRY_S} (default ${DEFAULT_PORTAL_EXPIRY_S}).`,
    }),
    endpointIds: t.idList({
      description: `Only these endpoints (at most ${MAX_PORTAL_ENDPOINTS}), their deliveries, events and replays. Default: every endpoint.`,
    }),
    readOnly: t.boolean({ description: "Refuse every mutation (default false)." }),
  }),
});

const ViewerKindEnum = builder.enumType("ViewerKind", {
  values: ["API_KEY", "JWT", "PORTAL"] as const,
});

const VIEWER_KIND = { "api-key": "API_KEY", jwt: "JWT", portal: "PORTAL" } as const;

type ViewerShape = { viewer: Viewer; workspaceName: string };

const ViewerRef = builder.objectRef<ViewerShape>("Viewer").implement({
  description: "Who is calling and what it may do: what a page needs to know before it shows controls.",
  fields: (t) => ({
    workspaceId: t.id({ resolve: ({ viewer }) => viewer.workspaceId }),
    workspaceName: t.exposeString("workspaceName"),
    kind: t.field({ type: ViewerKindEnum, resolve: ({ viewer }) => VIEWER_KIND[viewer.via] }),
    readOnly: t.boolean({
      description: "Mutations on endpoints, deliveries and replays are refused.",
      resolve: ({ viewer }) => viewer.portal?.readOnly ?? !scopeGrants(viewer.scopes).admin,
    }),
    endpointIds: t.idList({
      nullable: true,
      description: "The only endpoints it reaches; null means every endpoint of the workspace.",
      resolve: ({ viewer }) => (viewer.portal?.endpointIds ? [...viewer.portal.endpointIds] : null),
    }),
    expiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When its portal link stops working; null for API keys and JWTs.",
      resolve: ({ viewer }) => viewer.portal?.expiresAt ?? null,
    }),
  }),
});

function viewerOf(ctx: Context): Viewer {
  if (!ctx.viewer) throw unauthenticated();
  return ctx.viewer;
}

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: "The caller: any valid credential may ask, whatever its scopes.",
    skipTypeScopes: true,
    resolve: async (_root, _args, ctx) => {
      const viewer = viewerOf(ctx);
      const workspace = await ctx.deps.prisma.workspace.findUniqueOrThrow({
        where: { id: viewer.workspaceId },
        select: { name: true },
      });
      return { viewer, workspaceName: workspace.name };
    },
  }),
}));

builder.mutationFields((t) => ({
  createPortalSession: t.field({
    type: PortalSessionRef,
    description:
      "A short-lived link to the portal for the caller's workspace, to hand to a customer or embed in an iframe. Portal links cannot create more.",
    args: { input: t.arg({ type: CreatePortalSessionInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createPortalSession(ctx.deps, viewerOf(ctx), publicBaseUrl(ctx.deps.config.http), {
        ...input,
        endpointIds: input.endpointIds?.map(String),
      }),
  }),
}));
