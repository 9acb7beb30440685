import type { Db } from "../db/client.ts";
import { newId } from "../ids.ts";
import { issueApiKey } from "./apiKeys.ts";

/** Creates a key with every scope for the workspace and returns it in full: the only time it is ever shown. */
export async function createApiKey(prisma: Db, workspaceId: string, name = "default"): Promise<string> {
  const { key } = await issueApiKey(prisma, workspaceId, { name, scopes: ["ADMIN"] });
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
