import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type Db, inTransaction, queryRows } from "../../../src/db/client.ts";
import { Prisma } from "../../../src/db/generated/client.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";

/** The raw path on the client's own pool, against a real PostgreSQL, with a pool of one connection. */
describe("queryRows and inTransaction", () => {
  let db: TestDatabase;
  let prisma: Db;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = createPrismaClient({ url: db.url, poolMax: 1 });
    await queryRows(prisma, Prisma.sql`CREATE TABLE t (n int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  const count = async () =>
    (await queryRows<{ n: number }>(prisma, Prisma.sql`SELECT count(*)::int AS n FROM t`))[0]!.n;

  it("commits every statement of the transaction together", async () => {
    const inserted = await inTransaction(prisma, async (tx) => [
      ...(await tx.rows<{ n: number }>(Prisma.sql`INSERT INTO t VALUES (${1}) RETURNING n`)),
      ...(await tx.rows<{ n: number }>(Prisma.sql`INSERT INTO t VALUES (${2}) RETURNING n`)),
    ]);
    expect(inserted).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await count()).toBe(2);
  });

  it("rolls back on an error, rejects with it, and gives the connection back", async () => {
    const failed = inTransaction(prisma, async (tx) => {
      await tx.rows(Prisma.sql`INSERT INTO t VALUES (${3})`);
      await tx.rows(Prisma.sql`INSERT INTO t VALUES (${1})`); // duplicate key
    });
    await expect(failed).rejects.toThrow(/duplicate key/);
    // The pool's only connection serves both the raw path and Prisma again.
    expect(await count()).toBe(2);
    expect(await prisma.$queryRaw<{ one: number }[]>`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });

  it("prepares a statement once per connection, under the name it is given", async () => {
    const prepared = async () =>
      await queryRows<{ name: string; statement: string }>(
        prisma,
        Prisma.sql`SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'hp\_%' ORDER BY name`,
      );
    const countAbove = (n: number) =>
      queryRows<{ count: number }>(prisma, Prisma.sql`SELECT count(*)::int AS count FROM t WHERE n > ${n}`, {
        preparedAs: "count_above",
      });
    expect(await countAbove(0)).toEqual([{ count: 2 }]);
    expect(await countAbove(1)).toEqual([{ count: 1 }]);
    // Another statement under another name, on the same connection (the pool has one).
    const listAbove = (n: number) =>
      queryRows<{ n: number }>(prisma, Prisma.sql`SELECT n FROM t WHERE n > ${n} ORDER BY n`, {
        preparedAs: "list_above",
      });
    expect(await listAbove(0)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await prepared()).toEqual([
      { name: "hp_count_above", statement: "SELECT count(*)::int AS count FROM t WHERE n > $1" },
      { name: "hp_list_above", statement: "SELECT n FROM t WHERE n > $1 ORDER BY n" },
    ]);
  });

  it("passes dates as UTC instants whatever the process's time zone", async () => {
    const zone = process.env.TZ;
    process.env.TZ = "America/Los_Angeles";
    try {
      const at = new Date("2026-03-04T05:06:07.089Z");
      const [row] = await queryRows<{ at: string }>(
        prisma,
        Prisma.sql`SELECT to_char(${at}::timestamp(3), 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at`,
      );
      expect(row?.at).toBe("2026-03-04T05:06:07.089");
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});
