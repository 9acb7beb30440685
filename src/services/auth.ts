import { jwtVerify } from "jose";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { Logger } from "../logger.ts";
import { hashApiKey, looksLikeApiKey, markKeysUsed } from "./apiKeys.ts";
import { looksLikePortalToken, portalKey, viewerOfPortalToken } from "./portalSessions.ts";
import type { RateLimits } from "./rateLimits.ts";

import type { Viewer } from "./viewer.ts";

export type { PortalScope, Viewer } from "./viewer.ts";

/** Keys are checked against the database at most this often per process; revoking a key takes effect within it. */
const KEY_CACHE_TTL_MS = 10_000;
/** Valid keys remembered per process; past it the oldest entry goes, never the whole cache. */
const VALID_KEY_CACHE_MAX = 10_000;
/** Unknown keys remembered per process, apart from valid ones: a flood of made-up keys evicts only its own kind. */
const BAD_KEY_CACHE_MAX = 1_000;

/** A Map that forgets entries older than the TTL, and its oldest entry when full. */
function expiringCache<V>(max: number) {
  const entries = new Map<string, { value: V; expiresAt: number }>();
  return {
    get(key: string): { value: V } | undefined {
      const hit = entries.get(key);
      if (!hit) return undefined;
      if (hit.expiresAt > Date.now()) return hit;
      entries.delete(key);
      return undefined;
    },
    set(key: string, value: V): void {
      entries.delete(key);
      if (entries.size >= max) entries.delete(entries.keys().next().value ?? "");
      entries.set(key, { value, expiresAt: Date.now() + KEY_CACHE_TTL_MS });
    },
  };
}

/**
 * Resolves `Authorization: Bearer <api key | HS256 JWT | portal token>` to a viewer, or null
 * for a missing or bad credential (callers answer UNAUTHENTICATED). Counts
 * every request against its key's rate limit and every bad credential against
 * the client address's; throws RATE_LIMITED past them. Keys' lastUsedAt is
 * written in batches, every API_KEY_LAST_USED_FLUSH_MS.
 */
export function createAuthenticator(
  prisma: Db,
  config: Pick<Config, "auth">,
  limits: RateLimits,
  logger: Logger,
) {
  const validKeys = expiringCache<Viewer>(VALID_KEY_CACHE_MAX);
  const badKeys = expiringCache<null>(BAD_KEY_CACHE_MAX);
  const secret = config.auth.jwtSecret ? new TextEncoder().encode(config.auth.jwtSecret) : null;
  const portalSecret = portalKey(config.auth);
  let usedKeyIds = new Set<string>();

  async function byApiKey(key: string): Promise<Viewer | null> {
    const hash = hashApiKey(key);
    const cached = validKeys.get(hash) ?? badKeys.get(hash);
    if (cached) return cached.value;
    const row = await prisma.apiKey.findUnique({
      where: { hash },
      select: { id: true, workspaceId: true, scopes: true, revokedAt: true },
    });
    if (!row || row.revokedAt) {
      badKeys.set(hash, null);
      return null;
    }
    const viewer: Viewer = {
      workspaceId: row.workspaceId,
      via: "api-key",
      keyId: row.id,
      scopes: row.scopes,
    };
    validKeys.set(hash, viewer);
    return viewer;
  }

  async function byJwt(token: string): Promise<Viewer | null> {
    if (!secret) return null;
    try {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ["HS256"],
        requiredClaims: ["exp"],
        ...(config.auth.jwtAudience ? { audience: config.auth.jwtAudience } : {}),
        ...(config.auth.jwtIssuer ? { issuer: config.auth.jwtIssuer } : {}),
      });
      const workspaceId = payload[config.auth.jwtWorkspaceClaim];
      if (typeof workspaceId !== "string") return null;
      const exists = await prisma.workspace.findUnique({ where: { id: workspaceId }, select: { id: true } });
      return exists ? { workspaceId, via: "jwt", keyId: null, scopes: ["ADMIN"] } : null;
    } catch {
      return null;
    }
  }

  async function flushLastUsed(): Promise<void> {
    if (usedKeyIds.size === 0) return;
    const ids = [...usedKeyIds];
    usedKeyIds = new Set();
    await markKeysUsed(prisma, ids, new Date()).catch((err: Error) =>
      logger.warn({ error: err.message, keys: ids.length }, "could not record when API keys were last used"),
    );
  }
  const flushTimer = setInterval(() => void flushLastUsed(), config.auth.lastUsedFlushMs);
  flushTimer.unref();

  async function authenticate(
    authorization: string | null | undefined,
    clientAddress = "unknown",
  ): Promise<Viewer | null> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const token = match?.[1];
    if (!token) return null;
    limits.refuseIfBlocked(clientAddress);
    const viewer = looksLikeApiKey(token)
      ? await byApiKey(token)
      : looksLikePortalToken(token)
        ? await viewerOfPortalToken(prisma, portalSecret, token)
        : await byJwt(token);
    if (!viewer) {
      await limits.failedAuth(clientAddress);
      return null;
    }
    await limits.request(viewer);
    if (viewer.keyId) usedKeyIds.add(viewer.keyId);
    return viewer;
  }

  return {
    authenticate,
    /** Stops the batch timer and writes what it still held. */
    async close(): Promise<void> {
      clearInterval(flushTimer);
      await flushLastUsed();
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
export type Authenticate = Authenticator["authenticate"];
