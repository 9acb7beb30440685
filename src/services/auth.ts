import { jwtVerify } from "jose";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { hashApiKey, looksLikeApiKey } from "./workspaces.ts";

export type Viewer = Readonly<{ workspaceId: string; via: "api-key" | "jwt" }>;

/** Keys are checked against the database at most this often per process; revoking a key takes effect within it. */
const KEY_CACHE_TTL_MS = 10_000;
const KEY_CACHE_MAX = 10_000;

/**
 * Resolves `Authorization: Bearer <api key | HS256 JWT>` to a workspace.
 * Returns null for a missing or bad credential; callers answer UNAUTHENTICATED.
 */
export function createAuthenticator(prisma: Db, config: Pick<Config, "auth">) {
  const cache = new Map<string, { viewer: Viewer | null; expiresAt: number }>();
  const secret = config.auth.jwtSecret ? new TextEncoder().encode(config.auth.jwtSecret) : null;

  async function byApiKey(key: string): Promise<Viewer | null> {
    const hash = hashApiKey(key);
    const hit = cache.get(hash);
    if (hit && hit.expiresAt > Date.now()) return hit.viewer;
    const row = await prisma.apiKey.findUnique({
      where: { hash },
      select: { workspaceId: true, revokedAt: true },
    });
    const viewer: Viewer | null =
      row && !row.revokedAt ? { workspaceId: row.workspaceId, via: "api-key" } : null;
    if (cache.size >= KEY_CACHE_MAX) cache.clear();
    cache.set(hash, { viewer, expiresAt: Date.now() + KEY_CACHE_TTL_MS });
    return viewer;
  }

  async function byJwt(token: string): Promise<Viewer | null> {
    if (!secret) return null;
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ["HS256"] });
      const workspaceId = payload[config.auth.jwtWorkspaceClaim];
      if (typeof workspaceId !== "string") return null;
      const exists = await prisma.workspace.findUnique({ where: { id: workspaceId }, select: { id: true } });
      return exists ? { workspaceId, via: "jwt" } : null;
    } catch {
      return null;
    }
  }

  return async function authenticate(authorization: string | null | undefined): Promise<Viewer | null> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const token = match?.[1];
    if (!token) return null;
    return looksLikeApiKey(token) ? byApiKey(token) : byJwt(token);
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
