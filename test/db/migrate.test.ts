import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationError, migrate } from "../../src/db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

const MIGRATIONS = new URL("../../prisma/migrations/", import.meta.url);

let t: TestDatabase;
let local: string[];
beforeAll(async () => {
  // Not migrated: the first test migrates it.
  t = await createTestDatabase({ migrate: false });
  local = (await readdir(MIGRATIONS, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
});
afterAll(async () => {
  await t?.drop();
});

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}
const rows = () =>
  t.prisma.$queryRaw<MigrationRow[]>`SELECT * FROM "_prisma_migrations" ORDER BY migration_name`;

describe("migrate", () => {
  it("applies every migration once when several processes start at once", async () => {
    const results = await Promise.all([migrate(t.url), migrate(t.url), migrate(t.url)]);
    expect(results.flatMap((r) => r.applied)).toEqual(local);
    expect((await rows()).map((r) => r.migration_name)).toEqual(local);
  });

  it("applies nothing the second time", async () => {
    expect(await migrate(t.url)).toEqual({ applied: [] });
  });

  it("records migrations in _prisma_migrations as Prisma does", async () => {
    const columns = await t.prisma.$queryRaw<unknown[]>`
      SELECT column_name AS name, data_type AS type, character_maximum_length AS length,
        is_nullable AS nullable, column_default AS "default"
      FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = '_prisma_migrations'
      ORDER BY ordinal_position`;
    const ts = "timestamp with time zone";
    expect(columns).toEqual([
      { name: "id", type: "character varying", length: 36, nullable: "NO", default: null },
      { name: "checksum", type: "character varying", length: 64, nullable: "NO", default: null },
      { name: "finished_at", type: ts, length: null, nullable: "YES", default: null },
      { name: "migration_name", type: "character varying", length: 255, nullable: "NO", default: null },
      { name: "logs", type: "text", length: null, nullable: "YES", default: null },
      { name: "rolled_back_at", type: ts, length: null, nullable: "YES", default: null },
      { name: "started_at", type: ts, length: null, nullable: "NO", default: "now()" },
      { name: "applied_steps_count", type: "integer", length: null, nullable: "NO", default: "0" },
    ]);

    for (const row of await rows()) {
      const sql = await readFile(new URL(`${row.migration_name}/migration.sql`, MIGRATIONS));
      expect(row).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        checksum: createHash("sha256").update(sql).digest("hex"),
        logs: null,
        rolled_back_at: null,
        applied_steps_count: 1,
      });
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  it("refuses to run when an applied migration was edited", async () => {
    const name = local[0]!;
    const [row] = await t.prisma.$queryRaw<{ checksum: string }[]>`
      SELECT checksum FROM "_prisma_migrations" WHERE migration_name = ${name}`;
    const checksum = row!.checksum;
    await t.prisma
      .$executeRaw`UPDATE "_prisma_migrations" SET checksum = ${"0".repeat(64)} WHERE migration_name = ${name}`;
    try {
      await expect(migrate(t.url)).rejects.toThrow(
        new RegExp(`Migration ${name} was modified after it was applied`),
      );
    } finally {
      await t.prisma
        .$executeRaw`UPDATE "_prisma_migrations" SET checksum = ${checksum} WHERE migration_name = ${name}`;
    }
    expect(await migrate(t.url)).toEqual({ applied: [] });
  });

  it("refuses to run after a migration failed half-way (e.g. under `prisma migrate deploy`), until it is resolved", async () => {
    await t.prisma.$executeRaw`
      INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs)
      VALUES ('00000000-0000-4000-8000-000000000000', ${"1".repeat(64)}, '29990101000000_half', 'boom')`;
    await expect(migrate(t.url)).rejects.toThrow(/29990101000000_half failed earlier/);
    // What `prisma migrate resolve --rolled-back` does.
    await t.prisma
      .$executeRaw`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '29990101000000_half'`;
    expect(await migrate(t.url)).toEqual({ applied: [] });
  });
});

describe("migrate with a new migration", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hp-migrations-"));
    await cp(MIGRATIONS, dir, { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const addMigration = async (name: string, sql: string) => {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, "migration.sql"), sql);
  };
  const dirUrl = () => pathToFileURL(`${dir}/`);

  it("rolls a failing migration back completely and records nothing", async () => {
    await addMigration("29990101000000_broken", 'CREATE TABLE "Half" ("id" TEXT);\nSELECT 1/0;\n');
    const err = await migrate(t.url, { dir: dirUrl() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(
      /29990101000000_broken failed and was rolled back: division by zero/,
    );
    const tables = await t.prisma.$queryRaw<unknown[]>`SELECT to_regclass('"Half"')::text AS half`;
    expect(tables).toEqual([{ half: null }]);
    expect((await rows()).map((r) => r.migration_name)).not.toContain("29990101000000_broken");
  });

  it("applies it, once fixed, after the ones already applied", async () => {
    await addMigration("29990101000000_broken", 'CREATE TABLE "Half" ("id" TEXT);\n');
    const logs: string[] = [];
    const result = await migrate(t.url, { dir: dirUrl(), log: (m) => logs.push(m) });
    expect(result).toEqual({ applied: ["29990101000000_broken"] });
    expect(logs).toEqual([expect.stringMatching(/^applied migration 29990101000000_broken in \d+ ms$/)]);
    // The real migrations dir does not know it: that is a newer release's migration, left alone.
    expect(await migrate(t.url)).toEqual({ applied: [] });
  });
});
