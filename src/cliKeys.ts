import { parseArgs } from "node:util";
import { UsageError } from "./cli/usageError.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import type { ApiKey, ApiKeyScope } from "./db/generated/client.ts";
import type { Logger } from "./logger.ts";

export const KEYS_USAGE = `  keys create <name> [--scopes ADMIN,PUBLISH,READ] [--workspace <id>]
                            create an API key (ADMIN by default) and print it once
  keys list [--workspace <id>]  list API keys (never the keys themselves)
  keys revoke <id>          revoke an API key`;

const SCOPES: readonly ApiKeyScope[] = ["ADMIN", "PUBLISH", "READ"];

function parseScopes(text: string | undefined): ApiKeyScope[] {
  const names = (text ?? "ADMIN")
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const unknown = names.filter((name) => !SCOPES.includes(name as ApiKeyScope));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(`--scopes takes ${SCOPES.join(", ")} (comma-separated); got "${text}"`);
  }
  return names as ApiKeyScope[];
}

/** The named workspace, or the only one there is. */
async function workspaceFor(prisma: Db, id: string | undefined): Promise<string> {
  if (id) {
    if (!(await prisma.workspace.findUnique({ where: { id }, select: { id: true } }))) {
      throw new UsageError(`no workspace ${id}`);
    }
    return id;
  }
  const workspaces = await prisma.workspace.findMany({ select: { id: true }, take: 2 });
  const [only] = workspaces;
  if (!only || workspaces.length > 1) {
    throw new UsageError("name the workspace with --workspace <id> (there is not exactly one)");
  }
  return only.id;
}

const day = (date: Date | null) => date?.toISOString() ?? "-";

function keyLine(key: ApiKey): string {
  const status = key.revokedAt ? `revoked ${day(key.revokedAt)}` : `last used ${day(key.lastUsedAt)}`;
  return [key.id, key.workspaceId, key.name, `${key.prefix}…`, key.scopes.join(","), status].join("  ");
}

async function runKeys(prisma: Db, args: string[], out: (text: string) => void): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { scopes: { type: "string" }, workspace: { type: "string" } },
  });
  const [action, ...rest] = positionals;
  const { issueApiKey, revokeApiKey } = await import("./services/apiKeys.ts");
  if (action === "create" && rest.length > 0) {
    const scopes = parseScopes(values.scopes);
    const workspaceId = await workspaceFor(prisma, values.workspace);
    const { apiKey, key } = await issueApiKey(prisma, workspaceId, { name: rest.join(" "), scopes });
    out(`${keyLine(apiKey)}\napi key: ${key}\n(the key is shown once; store it now)\n`);
  } else if (action === "list" && rest.length === 0) {
    const keys = await prisma.apiKey.findMany({
      where: values.workspace ? { workspaceId: values.workspace } : {},
      orderBy: { id: "desc" },
    });
    out(keys.map((key) => `${keyLine(key)}\n`).join("") || "no API keys\n");
  } else if (action === "revoke" && rest.length === 1 && rest[0]) {
    const key = await prisma.apiKey.findUnique({ where: { id: rest[0] }, select: { workspaceId: true } });
    if (!key) throw new UsageError(`no API key ${rest[0]}`);
    out(`${keyLine(await revokeApiKey(prisma, key.workspaceId, rest[0]))}\n`);
  } else {
    throw new UsageError(`Usage: hookpost\n${KEYS_USAGE}`);
  }
}

/** `hookpost keys …`: manages API keys straight in the database. Returns the exit status. */
export async function runKeysCommand(config: Config, logger: Logger, args: string[]): Promise<number> {
  const { openDatabase } = await import("./db/database.ts");
  // Beside a running `hookpost start` on the embedded database, through that process's server.
  const db = await openDatabase(config, (msg) => logger.debug(msg), { joinRunning: true });
  try {
    await runKeys(db.prisma, args, (text) => process.stdout.write(text));
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError) && (err as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION")
      throw err;
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  } finally {
    await db.close();
  }
}
