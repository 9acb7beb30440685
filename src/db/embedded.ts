import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * Embedded PostgreSQL for a newcomer without a database server: PGlite (Postgres
 * compiled to WASM, in this process) persisted under `<dataDir>/pglite`, served
 * over the Postgres wire protocol on 127.0.0.1 so `pg`, the migrator and Prisma
 * talk to it exactly as to a real server.
 *
 * PGlite has one backend, so every client must use a pool of max 1, one client after
 * another. Only one process may open a data dir.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (msg: string) => void = () => {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const started = Date.now();
  const dir = join(dataDir, "pglite");
  await mkdir(dir, { recursive: true });
  const lockFile = await lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir: dir });
  } catch (err) {
    await unlockDataDir(lockFile);
    throw err;
  }
  // Port 0: the OS picks a free port, so parallel test runs and a real Postgres on 5432 never clash.
  // Two slots, though clients use one: the server frees a slot a tick after the socket
  // closes, so with one slot a client reconnecting at once (the migrator hands over to
  // Prisma, a pool replaces an idle connection) is refused. Two live clients would
  // interleave their protocol messages on the single backend: never run two at once.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 2 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    await unlockDataDir(lockFile);
    throw err;
  }
  const port = server.getServerConn().split(":").pop();
  // PGlite's only role and database are `postgres`, it ignores passwords and has no TLS
  // (it answers an SSL request with "N", but some clients insist unless told not to).
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  log(`embedded PostgreSQL (PGlite) at ${dir}, listening on 127.0.0.1:${port} (${Date.now() - started} ms)`);

  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      await unlockDataDir(lockFile);
    },
  };
}

const openHere = new Set<string>();

/**
 * PGlite does not lock its data dir: a second process would open the same files and
 * corrupt them. The lock names the owner's pid; a lock whose process is gone is stale.
 */
async function lockDataDir(dataDir: string): Promise<string> {
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
        return file;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const owner = Number(await readFile(file, "utf8").catch(() => ""));
      // Our own pid left over is a crashed run whose pid we reuse (pid 1 in a container).
      if (owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `The embedded database in ${dataDir} is in use by process ${owner}. Run api and worker in one ` +
            "process (`hookpost start`), or set DATABASE_URL to a PostgreSQL server to run several processes.",
        );
      }
      await rm(file, { force: true });
    }
    throw new Error(`Could not lock the embedded database in ${dataDir} (${file})`);
  } catch (err) {
    openHere.delete(file);
    throw err;
  }
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
