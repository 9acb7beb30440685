import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import pg from "pg";
import { projectPath } from "../paths.ts";
import { StartupError } from "../startupError.ts";

/**
 * Applies prisma/migrations/<name>/migration.sql in name order and records them in
 * `_prisma_migrations` the way `prisma migrate deploy` does, so a database set up
 * here can later be managed with Prisma's CLI (which cannot run offline).
 */

const MIGRATIONS_DIR = projectPath("prisma/migrations/");

// Prisma's own migrate lock key: our migrator and `prisma migrate deploy` exclude each other.
const LOCK_KEY = 72707369;

// The same table, columns and types Prisma creates, so its CLI accepts the database.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {}

interface LocalMigration {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

export interface MigrateOptions {
  log?: (msg: string) => void;
  /** Another migrations folder; for tests. */
  dir?: URL;
}

export async function migrate(
  connectionString: string,
  opts: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  const local = await readMigrations(opts.dir ?? MIGRATIONS_DIR);
  const client = new pg.Client({ connectionString });
  await client.connect().catch((err: Error) => {
    const { host, pathname } = new URL(connectionString);
    throw new StartupError(`cannot connect to PostgreSQL at ${host}${pathname}: ${err.message}`);
  });
  try {
    // Session-level lock: N processes booting at once queue here; the later ones find nothing to do.
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    try {
      await client.query(CREATE_TABLE);
      const done = await appliedMigrations(client, local);
      const applied: string[] = [];
      for (const m of local) {
        if (done.has(m.name)) continue;
        const started = Date.now();
        await applyOne(client, m);
        applied.push(m.name);
        log(`applied migration ${m.name} in ${Date.now() - started} ms`);
      }
      return { applied };
    } finally {
      // Explicit, because behind the embedded server the backend session outlives this connection.
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
}

async function readMigrations(dir: URL): Promise<LocalMigration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(new URL(`${name}/migration.sql`, dir));
      return {
        name,
        sql: bytes.toString("utf8"),
        checksum: createHash("sha256").update(bytes).digest("hex"),
      };
    }),
  );
}

/** Names already applied; throws when the database and the files disagree in a way a retry cannot fix. */
async function appliedMigrations(client: pg.Client, local: LocalMigration[]): Promise<Set<string>> {
  const { rows } = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
     WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  const failed = rows.find((r) => r.finished_at === null);
  if (failed) {
    throw new MigrationError(
      `Migration ${failed.migration_name} failed earlier and was left half-applied (finished_at is null in _prisma_migrations). ` +
        `Fix the database by hand, then mark it with \`prisma migrate resolve --applied|--rolled-back ${failed.migration_name}\` (or set rolled_back_at).`,
    );
  }
  const checksums = new Map(local.map((m) => [m.name, m.checksum]));
  for (const row of rows) {
    const expected = checksums.get(row.migration_name);
    // A row with no local folder comes from a newer release; leave it alone.
    if (expected !== undefined && expected !== row.checksum) {
      throw new MigrationError(
        `Migration ${row.migration_name} was modified after it was applied (checksum ${row.checksum} in the database, ${expected} on disk). ` +
          "Applied migrations must never change: restore the file and add a new migration instead.",
      );
    }
  }
  return new Set(rows.map((r) => r.migration_name));
}

/** One migration and its record in one transaction: it is either fully applied and recorded, or not at all. */
async function applyOne(client: pg.Client, m: LocalMigration): Promise<void> {
  const id = randomUUID();
  await client.query("BEGIN");
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 0)`,
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new MigrationError(`Migration ${m.name} failed and was rolled back: ${reason}`, { cause: err });
  }
}
