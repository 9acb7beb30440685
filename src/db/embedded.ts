import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { StartupError } from "../startupError.ts";
import { serveEmbeddedDatabase } from "./embeddedServer.ts";

export type EmbeddedPostgres = { url: string; stop(): Promise<void> };

/**
 * Embedded PostgreSQL for a newcomer without a database server: PGlite (Postgres
 * compiled to WASM, in this process) persisted under `<dataDir>/pglite`, served
 * over the Postgres wire protocol on 127.0.0.1 so `pg`, the migrator and Prisma
 * talk to it exactly as to a real server (see embeddedServer.ts).
 *
 * Only one process may open a data dir. It records its server's URL in its lock
 * file; with `joinRunning`, a short command (the CLI's) then connects to that
 * server as one more client instead of failing.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (msg: string) => void = () => {},
  opts: { joinRunning?: boolean } = {},
): Promise<EmbeddedPostgres> {
  const dir = join(dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  const lock = await lockDataDir(dataDir);
  if ("owner" in lock) {
    if (opts.joinRunning && lock.url) {
      log(`using the embedded database served by process ${lock.owner}`);
      // Nothing to stop: the database is the serving process's.
      return { url: lock.url, stop: async () => {} };
    }
    throw new StartupError(
      lock.url || !opts.joinRunning
        ? `the embedded database in ${dataDir} is in use by process ${lock.owner}; stop it, or set DATABASE_URL ` +
            "to a PostgreSQL server to run several processes"
        : `the embedded database in ${dataDir} is still starting in process ${lock.owner}; try again once it is up`,
    );
  }
  const started = Date.now();
  const fresh = !existsSync(join(dir, "PG_VERSION"));
  log(`preparing the embedded database in ${dir}${fresh ? " (first start: creating it)" : ""}…`);
  let db: PGlite | undefined;
  try {
    db = await PGlite.create({ dataDir: dir });
    // 127.0.0.1 and port 0: local clients only, and never a clash with a real Postgres on 5432.
    const server = await serveEmbeddedDatabase(db, "127.0.0.1");
    // PGlite's only role and database are `postgres`, it ignores passwords and has no TLS
    // (it answers an SSL request with "N", but some clients insist unless told not to).
    const url = `postgresql://postgres@127.0.0.1:${server.port}/postgres?sslmode=disable`;
    await recordUrl(lock.file, url);
    log(
      `embedded database ready in ${((Date.now() - started) / 1000).toFixed(1)} s, on 127.0.0.1:${server.port}`,
    );
    let stopped = false;
    return {
      url,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
        await db?.close();
        await unlockDataDir(lock.file);
      },
    };
  } catch (err) {
    await db?.close().catch(() => {});
    await unlockDataDir(lock.file);
    throw err;
  }
}

const openHere = new Set<string>();

type Lock = { file: string } | { owner: number; url: string | undefined };

/**
 * PGlite does not lock its data dir: a second process would open the same files and
 * corrupt them. The lock holds the owner's pid, then its server's URL; a lock whose
 * process is gone is stale.
 */
async function lockDataDir(dataDir: string): Promise<Lock> {
  const file = resolve(dataDir, "pglite.lock");
  // Checked and marked before any await, so two starts in one process cannot both pass.
  if (openHere.has(file)) {
    throw new Error(`The embedded database in ${dataDir} is already open in this process`);
  }
  openHere.add(file);
  try {
    for (let tries = 0; tries < 2; tries++) {
      try {
        await writeFile(file, String(process.pid), { flag: "wx" });
        return { file };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const [pid, url] = (await readFile(file, "utf8").catch(() => "")).split("\n");
      const owner = Number(pid);
      // Our own pid left over is a crashed run whose pid we reuse (pid 1 in a container).
      if (owner > 0 && owner !== process.pid && isAlive(owner)) {
        openHere.delete(file);
        return { owner, url: url || undefined };
      }
      await rm(file, { force: true });
    }
    throw new Error(`Could not lock the embedded database in ${dataDir} (${file})`);
  } catch (err) {
    openHere.delete(file);
    throw err;
  }
}

/** Adds the URL under the pid, replacing the file at once so a reader never sees half of it. */
async function recordUrl(file: string, url: string): Promise<void> {
  await writeFile(`${file}.tmp`, `${process.pid}\n${url}`);
  await rename(`${file}.tmp`, file);
}

async function unlockDataDir(file: string): Promise<void> {
  openHere.delete(file);
  await rm(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
