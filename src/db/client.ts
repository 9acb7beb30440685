import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { type Prisma, PrismaClient } from "./generated/client.ts";
import { parseUtcTimestamp } from "./timestamps.ts";

export type Db = PrismaClient;

/** Each client's `pg` pool, shared by Prisma (through its adapter) and `queryRows`. */
const pools = new WeakMap<Db, pg.Pool>();

/** A Prisma client over a `pg` pool of at most `poolMax` connections, each closed after `idleTimeoutMs` idle. */
export function createPrismaClient(opts: { url: string; poolMax: number; idleTimeoutMs?: number }): Db {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax,
    idleTimeoutMillis: opts.idleTimeoutMs,
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(prisma, pool);
  return prisma;
}

/**
 * PostgreSQL's `timestamp` is read as UTC (src/db/timestamps.ts). Every other
 * type is read as Prisma reads it (JSON parsed, arrays as arrays, enums as text).
 */
const TIMESTAMP_OID = 1114;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID
      ? parseUtcTimestamp
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Dates go over as ISO text, which `::timestamp(3)` stores as UTC whatever the session time zone. */
const paramOf = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

/**
 * `preparedAs`: the statement is prepared once per connection under this
 * name, and after five runs PostgreSQL keeps one generic plan for it instead
 * of parsing and planning it every time: the publish insert of one event
 * cost PostgreSQL 600–625 µs of CPU unprepared, 300 prepared. One name per
 * statement text (`pg` refuses a name used for two texts on one connection),
 * and only for a statement whose text never changes and whose plan cannot go
 * stale as tables grow: a generic plan is made once, from the statistics of
 * the moment, and kept until the next ANALYZE. The delivery loader, prepared
 * on a new database, kept a plan made while the Endpoint table held one row:
 * it looked every delivery's event up again for each endpoint, 24–26 ms to
 * load a fan-out's 100 deliveries instead of 3.
 */
export type QueryOptions = { preparedAs?: string };

/** A connection of the client's pool, held for a transaction. */
export type SqlSession = { rows<T>(query: Prisma.Sql, opts?: QueryOptions): Promise<T[]> };

function session(queryable: pg.Pool | pg.PoolClient): SqlSession {
  return {
    async rows<T>(query: Prisma.Sql, opts?: QueryOptions) {
      const result = await queryable.query({
        // Named by the caller: hashing the text (rebuilt on every call) to name it cost 14 µs a publish.
        name: opts?.preparedAs && `hp_${opts.preparedAs}`,
        text: query.text,
        values: query.values.map(paramOf),
        types,
      });
      return result.rows as T[];
    },
  };
}

function poolOf(prisma: Db): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error("this Prisma client was not made by createPrismaClient");
  return pool;
}

/** How many connections the client's pool holds open now. */
export function openConnections(prisma: Db): number {
  return poolOf(prisma).totalCount;
}

/**
 * Runs one raw statement straight on the client's pool. For the statements
 * that run for every delivery (publish insert, delivery loader, attempt
 * writer) and the sweeper's scan: `$queryRaw`
 * serializes every parameter to JSON and parses it back before sending, then
 * converts every value of every row, which cost the worker about a sixth of
 * its CPU with attempt bodies in the parameters. Same SQL, same connections,
 * same row shapes.
 */
export function queryRows<T>(prisma: Db, query: Prisma.Sql, opts?: QueryOptions): Promise<T[]> {
  return session(poolOf(prisma)).rows<T>(query, opts);
}

/** Runs `work` in one transaction on one connection of the client's pool. */
export async function inTransaction<T>(prisma: Db, work: (tx: SqlSession) => Promise<T>): Promise<T> {
  const client = await poolOf(prisma).connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(session(client));
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw err;
  } finally {
    // A connection that could not roll back is closed rather than reused.
    client.release(broken);
  }
}
