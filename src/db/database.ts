import type { Config } from "../config.ts";
import { createPrismaClient, type Db } from "./client.ts";
import { startEmbeddedPostgres } from "./embedded.ts";
import { migrate } from "./migrate.ts";

export interface Database {
  prisma: Db;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PGlite when it is unset, and
 * brings the schema up to date before handing out a client. `joinRunning`: a
 * short command uses the embedded database of a process already serving it.
 */
export async function openDatabase(
  config: Config,
  log: (msg: string) => void,
  opts: { joinRunning?: boolean } = {},
): Promise<Database> {
  const embedded =
    config.database.url === undefined
      ? await startEmbeddedPostgres(config.database.dataDir, log, opts)
      : undefined;
  const url = embedded?.url ?? config.database.url!;
  try {
    const { applied } = await migrate(url, { log });
    if (applied.length === 0) log("database schema is up to date");
    // PGlite runs one client's work at a time (see embeddedServer.ts): more connections would only wait.
    const prisma = createPrismaClient({
      url,
      poolMax: embedded ? 1 : config.database.poolMax,
      idleTimeoutMs: config.database.idleTimeoutMs,
    });
    // Prisma sets up its query compiler on the first model query, blocking the event loop for
    // 0.1–0.5 s: paid here, at start, not by the first request or sweep under load.
    await prisma.workspace.findFirst({ select: { id: true } });
    return {
      prisma,
      url,
      embedded: embedded !== undefined,
      async close() {
        await prisma.$disconnect();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
