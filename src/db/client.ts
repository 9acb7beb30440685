import { PrismaPg } from "@prisma/adapter-pg";
import { Prisma, PrismaClient } from "./generated/client.ts";

export type Db = PrismaClient;

/** A Prisma client over a `pg` pool of at most `poolMax` connections (1 for the embedded PGlite). */
export function createPrismaClient(opts: { url: string; poolMax: number }): PrismaClient {
  const adapter = new PrismaPg(
    { connectionString: opts.url, max: opts.poolMax },
    // The generator may answer undefined: that statement stays unnamed (pg's default).
    { statementNameGenerator: (query) => preparedStatementName(query.sql) as string },
  );
  return new PrismaClient({ adapter });
}

/**
 * Starts a raw statement that runs as a named prepared statement: each
 * connection sends, parses and plans it once, then only binds and executes
 * it. For the hot statements (publish insert, delivery loader, attempt
 * writer) parsing and planning cost PostgreSQL more than executing a small
 * batch. Only for statements whose text never varies, and whose plan suits
 * any batch size: once PostgreSQL prefers the generic plan, it keeps it
 * until the tables' statistics change. Such a statement names its columns
 * (no `*`), so a later added column cannot change its result type.
 */
export function preparedStatement(name: string): Prisma.Sql {
  return Prisma.raw(`/* prepared:${name} */`);
}

const PREPARED_MARK = /^\s*\/\* prepared:([\w-]+) \*\//;

/** `<name>_<hash of the text>`: one name per text, so a changed statement is prepared anew. */
export function preparedStatementName(sql: string): string | undefined {
  const mark = PREPARED_MARK.exec(sql);
  if (!mark) return undefined;
  let hash = 0x811c9dc5;
  for (let i = 0; i < sql.length; i++) hash = Math.imul(hash ^ sql.charCodeAt(i), 0x01000193);
  return `${mark[1]}_${(hash >>> 0).toString(36)}`;
}
