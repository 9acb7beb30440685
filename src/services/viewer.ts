import type { ApiKeyScope } from "../db/generated/client.ts";

/** What a portal link may reach: its endpoints (null: every endpoint of the workspace), and whether it may change them. */
export type PortalScope = Readonly<{
  endpointIds: readonly string[] | null;
  readOnly: boolean;
  expiresAt: Date;
}>;

/**
 * Who is calling: a workspace, through an API key (keyId) with its scopes,
 * through a JWT (every scope), or through a portal link (portal: its scope).
 */
export type Viewer = Readonly<{
  workspaceId: string;
  via: "api-key" | "jwt" | "portal";
  keyId: string | null;
  scopes: readonly ApiKeyScope[];
  portal?: PortalScope;
}>;
