import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";

export type Db = PrismaClient;

/** A Prisma client over a `pg` pool of at most `poolMax` connections (1 for the embedded PGlite). */
export function createPrismaClient(opts: { url: string; poolMax: number }): PrismaClient {
  const adapter = new PrismaPg({ connectionString: opts.url, max: opts.poolMax });
  return new PrismaClient({ adapter });
}
