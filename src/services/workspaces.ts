import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/client.ts";
import { newId } from "../ids.ts";

/** API keys look like `hp_<43 base64url chars>`; only their SHA-256 is stored. */
const API_KEY_PREFIX = "hp_";

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX) && token.length > 20;
}

/** Creates a key for the workspace and returns it in full: the only time it is ever shown. */
export async function createApiKey(prisma: Db, workspaceId: string, name = "default"): Promise<string> {
  const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  await prisma.apiKey.create({
    data: { id: newId("apiKey"), workspaceId, name, prefix: key.slice(0, 10), hash: hashApiKey(key) },
  });
  return key;
}

export async function createWorkspace(
  prisma: Db,
  name: string,
): Promise<{ workspaceId: string; apiKey: string }> {
  const workspaceId = newId("workspace");
  await prisma.workspace.create({ data: { id: workspaceId, name } });
  return { workspaceId, apiKey: await createApiKey(prisma, workspaceId) };
}

/**
 * On the first start of an empty database, make a workspace so a newcomer can
 * call the API at once. Returns the new key, or null when workspaces exist.
 * The advisory lock keeps two processes starting together from both creating one.
 */
export async function bootstrapWorkspace(
  prisma: Db,
): Promise<{ workspaceId: string; apiKey: string } | null> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(727274)`;
    if ((await tx.workspace.count()) > 0) return null;
    return createWorkspace(tx as unknown as Db, "default");
  });
}
