import { randomBytes } from "node:crypto";
import { decodeJwt, jwtVerify, SignJWT } from "jose";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { badInput, forbidden, quote } from "../errors.ts";
import { checkNames } from "./inputBounds.ts";
import type { PortalScope, Viewer } from "./viewer.ts";

/** A portal token's `aud`: tells it apart from the frontend JWTs signed with the same secret. */
export const PORTAL_AUDIENCE = "hookpost:portal";
export const MIN_PORTAL_EXPIRY_S = 60;
export const MAX_PORTAL_EXPIRY_S = 7 * 86_400;
export const DEFAULT_PORTAL_EXPIRY_S = 3_600;
/** Endpoints one portal session may be scoped to: each id travels in the token. */
export const MAX_PORTAL_ENDPOINTS = 100;

/** The claim a portal token carries its scope in; never the workspace claim of frontend JWTs. */
type PortalClaim = { workspaceId: string; endpointIds: string[] | null; readOnly: boolean };

/** Made once per process when JWT_SECRET is unset: links then work only on this process, until it stops. */
let processKey: Uint8Array | null = null;

/** The HS256 key portal tokens are signed with: JWT_SECRET, or a random key of this process. */
export function portalKey(auth: Pick<Config["auth"], "jwtSecret">): Uint8Array {
  if (auth.jwtSecret) return new TextEncoder().encode(auth.jwtSecret);
  processKey ??= new Uint8Array(randomBytes(32));
  return processKey;
}

/** Signs a portal token carrying `claim`, valid from `now` for `expiresInSeconds`. */
export async function signPortalToken(
  key: Uint8Array,
  claim: PortalClaim,
  expiresInSeconds: number,
  now = new Date(),
): Promise<{ token: string; expiresAt: Date }> {
  const issuedAt = Math.floor(now.getTime() / 1_000);
  const expiresAt = issuedAt + expiresInSeconds;
  const token = await new SignJWT({ portal: claim })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setAudience(PORTAL_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAt: new Date(expiresAt * 1_000) };
}

/** Whether a bearer token claims to be a portal token (unverified: it only picks how to verify it). */
export function looksLikePortalToken(token: string): boolean {
  try {
    const { aud } = decodeJwt(token);
    return aud === PORTAL_AUDIENCE || (Array.isArray(aud) && aud.includes(PORTAL_AUDIENCE));
  } catch {
    return false;
  }
}

function isPortalClaim(value: unknown): value is PortalClaim {
  const claim = value as PortalClaim | null;
  return (
    typeof claim?.workspaceId === "string" &&
    typeof claim.readOnly === "boolean" &&
    (claim.endpointIds === null ||
      (Array.isArray(claim.endpointIds) && claim.endpointIds.every((id) => typeof id === "string")))
  );
}

/** The viewer a portal token stands for, or null when it is tampered with, expired, or of no workspace. */
export async function viewerOfPortalToken(
  prisma: Db,
  key: Uint8Array,
  token: string,
): Promise<Viewer | null> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      audience: PORTAL_AUDIENCE,
      requiredClaims: ["exp"],
    });
    if (!isPortalClaim(payload.portal) || payload.exp === undefined) return null;
    const { workspaceId, endpointIds, readOnly } = payload.portal;
    const exists = await prisma.workspace.findUnique({ where: { id: workspaceId }, select: { id: true } });
    if (!exists) return null;
    const portal: PortalScope = { endpointIds, readOnly, expiresAt: new Date(payload.exp * 1_000) };
    return { workspaceId, via: "portal", keyId: null, scopes: readOnly ? ["READ"] : ["ADMIN"], portal };
  } catch {
    return null;
  }
}

export type PortalSessionInput = {
  expiresInSeconds?: number | null;
  endpointIds?: readonly string[] | null;
  readOnly?: boolean | null;
};

export type PortalSession = { url: string; token: string; expiresAt: Date };

/** What a portal link opens: the web app, with the token in the fragment (never sent to servers or logged). */
export function portalUrl(baseUrl: string, token: string): string {
  return `${baseUrl}/#token=${token}`;
}

async function checkEndpointIds(
  prisma: Db,
  workspaceId: string,
  ids: readonly string[] | null | undefined,
): Promise<string[] | null> {
  if (ids == null) return null;
  checkNames(ids, "endpointIds");
  const unique = [...new Set(ids)];
  if (unique.length === 0)
    throw badInput("endpointIds must name at least one endpoint, or be left out for all", "endpointIds");
  if (unique.length > MAX_PORTAL_ENDPOINTS)
    throw badInput(`endpointIds names at most ${MAX_PORTAL_ENDPOINTS} endpoints`, "endpointIds");
  const found = await prisma.endpoint.findMany({
    where: { workspaceId, id: { in: unique } },
    select: { id: true },
  });
  const known = new Set(found.map((e) => e.id));
  const missing = unique.find((id) => !known.has(id));
  if (missing) throw badInput(`endpoint ${quote(missing)} not found`, "endpointIds");
  return unique.sort();
}

/**
 * Makes a portal link for the caller's workspace: a signed token, optionally
 * limited to some endpoints and to reading. Portal sessions cannot make more.
 */
export async function createPortalSession(
  deps: { prisma: Db; config: Pick<Config, "auth"> },
  viewer: Viewer,
  baseUrl: string,
  input: PortalSessionInput,
): Promise<PortalSession> {
  if (viewer.portal) throw forbidden("a portal session cannot create portal sessions");
  const expiresInSeconds = input.expiresInSeconds ?? DEFAULT_PORTAL_EXPIRY_S;
  if (
    !Number.isInteger(expiresInSeconds) ||
    expiresInSeconds < MIN_PORTAL_EXPIRY_S ||
    expiresInSeconds > MAX_PORTAL_EXPIRY_S
  ) {
    throw badInput(
      `expiresInSeconds must be between ${MIN_PORTAL_EXPIRY_S} and ${MAX_PORTAL_EXPIRY_S}`,
      "expiresInSeconds",
    );
  }
  const endpointIds = await checkEndpointIds(deps.prisma, viewer.workspaceId, input.endpointIds);
  const claim = { workspaceId: viewer.workspaceId, endpointIds, readOnly: input.readOnly ?? false };
  const { token, expiresAt } = await signPortalToken(portalKey(deps.config.auth), claim, expiresInSeconds);
  return { url: portalUrl(baseUrl, token), token, expiresAt };
}
