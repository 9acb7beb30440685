import { badInput } from "../errors.ts";

/**
 * Keyset pagination, newest first, on (createdAt, id): each page is one index
 * range scan however deep the page, unlike OFFSET. Cursors are opaque.
 */
type Row = { createdAt: Date; id: string };
export type PageArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
};

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

export function encodeCursor(row: Row): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString("base64url");
}

function decodeCursor(cursor: string): Row {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const createdAt = new Date(at);
    if (typeof id !== "string" || Number.isNaN(createdAt.getTime())) throw new Error("bad cursor");
    return { createdAt, id };
  } catch {
    throw badInput("after is not a cursor this API returned", "after");
  }
}

/** How many rows a relation list inside a type (Event.deliveries, Delivery.attempts) loads: `first`, at most MAX_PAGE. */
export function relationTake(first: number | null | undefined): number {
  const take = first ?? MAX_PAGE;
  if (take < 0 || take > MAX_PAGE) throw badInput(`first must be between 0 and ${MAX_PAGE}`, "first");
  return take;
}

/** Prisma where/orderBy/take for one page; `where` is ANDed with the caller's filter. */
export function pageQuery(args: PageArgs) {
  if (args.last != null || args.before != null)
    throw badInput("lists page forward only: use first and after", "last");
  const first = args.first ?? DEFAULT_PAGE;
  if (first < 0 || first > MAX_PAGE) throw badInput(`first must be between 0 and ${MAX_PAGE}`, "first");
  const after = args.after ? decodeCursor(args.after) : null;
  return {
    first,
    take: first + 1,
    orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }],
    // The redundant `lte` bound is what lets PostgreSQL start the index scan at
    // the cursor: it cannot use the OR alone, and would scan every newer row.
    where: after
      ? {
          createdAt: { lte: after.createdAt },
          OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
        }
      : {},
  };
}

/** Turns `take = first + 1` rows into a Relay connection. */
export type Connection<T> = {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
};

export function toConnection<T extends Row>(rows: readonly T[], first: number): Connection<T> {
  const page = rows.slice(0, first);
  return {
    edges: page.map((node) => ({ cursor: encodeCursor(node), node })),
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: false,
      startCursor: page[0] ? encodeCursor(page[0]) : null,
      endCursor: page.at(-1) ? encodeCursor(page.at(-1)!) : null,
    },
  };
}

/**
 * One page of a list: `filters` (ANDed, e.g. the workspace scope) plus the
 * cursor condition, newest first, as a Relay connection.
 */
export async function paginate<T extends Row, W extends object>(
  args: PageArgs,
  filters: W[],
  find: (query: {
    where: { AND: W[] };
    orderBy: ReturnType<typeof pageQuery>["orderBy"];
    take: number;
  }) => Promise<T[]>,
): Promise<Connection<T>> {
  const page = pageQuery(args);
  const rows = await find({
    where: { AND: [...filters, page.where as W] },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toConnection(rows, page.first);
}

/** A time range filter on createdAt from optional since/until (until exclusive). */
export function createdAtRange(since?: Date | null, until?: Date | null) {
  if (since && until && since >= until) throw badInput("since must be before until", "since");
  return since || until
    ? { createdAt: { ...(since ? { gte: since } : {}), ...(until ? { lt: until } : {}) } }
    : {};
}
