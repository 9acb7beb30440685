import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPrismaClient, type Db } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";

export const SERVER_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  url: string;
  prisma: Db;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own for one test file, so files run in
 * parallel and two runs of the suite at once never share rows.
 */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `hp_t_${randomBytes(6).toString("hex")}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = withDatabase(SERVER_URL, name);
  if (opts.migrate !== false) await migrate(url);
  const prisma = createPrismaClient({ url, poolMax: 4 });
  return {
    url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
