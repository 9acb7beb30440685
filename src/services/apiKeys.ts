import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/client.ts";
import type { ApiKey, ApiKeyScope } from "../db/generated/client.ts";
import { badInput, notFound } from "../errors.ts";
import { newId } from "../ids.ts";

/** API keys look like `hp_<43 base64url chars>`; only their SHA-256 is stored. */
const API_KEY_PREFIX = "hp_";
const MAX_NAME_LENGTH = 100;

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX) && token.length > 20;
}

/** What a scope lets a key do: ADMIN everything, PUBLISH publishEvent(s) only, READ queries and subscriptions. */
export const scopeGrants = (scopes: readonly ApiKeyScope[]) => ({
  admin: scopes.includes("ADMIN"),
  publish: scopes.includes("ADMIN") || scopes.includes("PUBLISH"),
  read: scopes.includes("ADMIN") || scopes.includes("READ"),
});

function checkKeyInput(name: string, scopes: readonly ApiKeyScope[]): void {
  if (name.trim() === "" || name.length > MAX_NAME_LENGTH) {
    throw badInput(`name must be 1 to ${MAX_NAME_LENGTH} characters`, "name");
  }
  if (scopes.length === 0) throw badInput("scopes must name at least one scope", "scopes");
}

/** Creates a key and returns it in full with its row: the only time the key is ever shown. */
export async function issueApiKey(
  prisma: Db,
  workspaceId: string,
  input: { name: string; scopes: readonly ApiKeyScope[] },
): Promise<{ apiKey: ApiKey; key: string }> {
  checkKeyInput(input.name, input.scopes);
  const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  const apiKey = await prisma.apiKey.create({
    data: {
      id: newId("apiKey"),
      workspaceId,
      name: input.name,
      prefix: key.slice(0, 10),
      hash: hashApiKey(key),
      scopes: [...new Set(input.scopes)],
    },
  });
  return { apiKey, key };
}

export function listApiKeys(prisma: Db, workspaceId: string): Promise<ApiKey[]> {
  return prisma.apiKey.findMany({ where: { workspaceId }, orderBy: { id: "desc" } });
}

/** Revokes the key (again revoking changes nothing); api processes stop accepting it within their key cache's lifetime. */
export async function revokeApiKey(prisma: Db, workspaceId: string, id: string): Promise<ApiKey> {
  await prisma.apiKey.updateMany({
    where: { id, workspaceId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  const apiKey = await prisma.apiKey.findFirst({ where: { id, workspaceId } });
  if (!apiKey) throw notFound("API key", id);
  return apiKey;
}

/** Writes when keys were last used, in one statement for all of them. */
export async function markKeysUsed(prisma: Db, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length > 0)
    await prisma.apiKey.updateMany({ where: { id: { in: [...ids] } }, data: { lastUsedAt: at } });
}
