/**
 * History query benchmark (not a test): do the delivery log and event list
 * stay fast on a million rows? Seeds a scratch PostgreSQL database straight
 * with SQL (workspace A: 10 endpoints, 1,000,000 events over 30 days and one
 * delivery each, mixed statuses and types; workspace B: 50,000 more, so the
 * tenancy filter matters), then runs the GraphQL `deliveries` and `events`
 * connections in-process through the real schema and resolvers, captures the
 * SQL and parameters Prisma sends, and prints PostgreSQL's
 * EXPLAIN (ANALYZE, BUFFERS) of each: execution time, nodes, indexes, rows.
 * Target: every case an index scan (no Seq Scan) in a few ms.
 *
 *   npm run bench:history           (EVENTS=… to change workspace A's size)
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { execute, parse } from "graphql";
import pg from "pg";
import { PrismaClient } from "../src/db/generated/client.ts";
import type { Deps } from "../src/deps.ts";
import type { Context } from "../src/schema/builder.ts";
import { schema } from "../src/schema/index.ts";
import { encodeCursor } from "../src/schema/pagination.ts";
import { createTestDatabase } from "../test/support/db.ts";

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const EVENTS_B = Math.round(EVENTS / 20);
const ENDPOINTS = 10;
const SPAN_MS = 30 * 86_400_000;
const CHUNK = 100_000;
const PAGE = 50;
const SLOW_MS = 10;
const TYPES = ["email.sent", "email.delivered", "email.opened", "email.clicked", "email.bounced"];
/** About one event in a thousand, as complaints are: a filter on it must not walk the whole log. */
const RARE_TYPE = "email.complained";

const seconds = (since: number) => (Date.now() - since) / 1_000;

/**
 * Per-row columns of generate_series row `g` of a workspace, as SQL: the time
 * spreads `count` rows evenly over the span (B's sit half a step off A's), the
 * rest comes from fixed hashes of g so type, endpoint and status do not
 * correlate. Type: one of five common ones, or (~0.1%) the rare one. Status: ~5% FAILED, ~2% RETRYING, ~1% PENDING, the rest SUCCEEDED.
 */
function rowsSql(ws: string, from: number, to: number, count: number, since: Date, offset: number) {
  const stepMs = SPAN_MS / count;
  return `
    SELECT g,
      'evt_${ws}_' || lpad(g::text, 9, '0') AS "eventId",
      'dlv_${ws}_' || lpad(g::text, 9, '0') AS "deliveryId",
      CASE WHEN hashint4extended(g, 1) & 1023 = 0 THEN '${RARE_TYPE}'
        ELSE (ARRAY[${TYPES.map((t) => `'${t}'`).join(",")}])[1 + (hashint4extended(g, 1) & 1023) % ${TYPES.length}]
      END AS type,
      'ep_${ws}_' || lpad((1 + (hashint4extended(g, 2) & 1023) % ${ws === "a" ? ENDPOINTS : 1})::text, 2, '0') AS "endpointId",
      CASE WHEN r < 51 THEN 'FAILED' WHEN r < 72 THEN 'RETRYING' WHEN r < 82 THEN 'PENDING' ELSE 'SUCCEEDED' END
        ::"DeliveryStatus" AS status,
      ('${since.toISOString()}'::timestamptz AT TIME ZONE 'UTC')
        + ((g - 1 + ${offset}) * ${stepMs}::float8) * interval '1 millisecond' AS t
    FROM (SELECT g, hashint4extended(g, 3) & 1023 AS r FROM generate_series(${from}, ${to}) g) s`;
}

function eventsSql(ws: string, rows: string) {
  return `
    INSERT INTO "Event"(id, "workspaceId", type, stream, payload, "occurredAt", "createdAt")
    SELECT "eventId", 'ws_${ws}', type, 'outbound',
           jsonb_build_object('messageId', 'msg_' || g, 'to', ARRAY['user' || g || '@example.com'],
                              'subject', 'Your receipt', 'tags', ARRAY['receipt']),
           t, t
    FROM (${rows}) r`;
}

function deliveriesSql(ws: string, rows: string) {
  return `
    INSERT INTO "Delivery"(id, "workspaceId", "eventId", "endpointId", "eventType", status, trigger, attempts,
                           "retryStep", "nextAttemptAt", "lastAttemptAt", "lastResponseStatus", "lastError",
                           "succeededAt", "createdAt", "updatedAt")
    SELECT "deliveryId", 'ws_${ws}', "eventId", "endpointId", type, status,
           CASE WHEN status IN ('FAILED', 'RETRYING') THEN 'RETRY' ELSE 'SCHEDULED' END::"AttemptTrigger",
           CASE status WHEN 'PENDING' THEN 0 WHEN 'SUCCEEDED' THEN 1 WHEN 'RETRYING' THEN 3 ELSE 8 END,
           CASE status WHEN 'RETRYING' THEN 2 WHEN 'FAILED' THEN 7 ELSE 0 END,
           CASE WHEN status = 'RETRYING' THEN t + interval '10 minutes' END,
           CASE WHEN status <> 'PENDING' THEN t + interval '50 milliseconds' END,
           CASE status WHEN 'SUCCEEDED' THEN 200 WHEN 'PENDING' THEN NULL ELSE 503 END,
           CASE WHEN status IN ('FAILED', 'RETRYING') THEN 'HTTP 503' END,
           CASE WHEN status = 'SUCCEEDED' THEN t + interval '50 milliseconds' END,
           t, t + interval '50 milliseconds'
    FROM (${rows}) r`;
}

/** Both workspaces, their endpoints, events and deliveries, in chunks; then ANALYZE. */
async function seed(sql: pg.Client, since: Date, interrupted: AbortSignal): Promise<void> {
  const started = Date.now();
  const step = async (label: string, text: string) => {
    const at = Date.now();
    const { rowCount } = await sql.query(text);
    console.log(
      `  ${seconds(started).toFixed(1).padStart(6)} s  ${label}: ${rowCount ?? 0} rows in ${seconds(at).toFixed(1)} s`,
    );
  };
  await sql.query(`INSERT INTO "Workspace"(id, name) VALUES ('ws_a', 'bench A'), ('ws_b', 'bench B')`);
  await sql.query(`
    INSERT INTO "Endpoint"(id, "workspaceId", url, "eventTypes", streams, secret, "updatedAt")
    SELECT 'ep_' || ws || '_' || lpad(n::text, 2, '0'), 'ws_' || ws, 'https://example.com/hooks/' || ws || n,
           ARRAY['*'], ARRAY[]::text[], 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', now()
    FROM (SELECT 'a' AS ws, generate_series(1, ${ENDPOINTS}) AS n UNION ALL SELECT 'b', 1) e`);
  const chunks: [string, number, number, number, number][] = [];
  for (let from = 1; from <= EVENTS; from += CHUNK)
    chunks.push(["a", from, Math.min(from + CHUNK - 1, EVENTS), EVENTS, 0]);
  chunks.push(["b", 1, EVENTS_B, EVENTS_B, 0.5]);
  for (const [ws, from, to, count, offset] of chunks) {
    if (interrupted.aborted) return;
    const rows = rowsSql(ws, from, to, count, since, offset);
    await step(`workspace ${ws.toUpperCase()} events ${from}–${to}`, eventsSql(ws, rows));
    await step(`workspace ${ws.toUpperCase()} deliveries ${from}–${to}`, deliveriesSql(ws, rows));
  }
  if (interrupted.aborted) return;
  await step("ANALYZE", "ANALYZE");
}

/** Exactly what a client would send; only scalar fields, so each case is the one list query. */
const DELIVERIES = parse(`
  query ($first: Int, $after: String, $filter: DeliveryFilter) {
    deliveries(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id status eventType createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }`);
const EVENTS_QUERY = parse(`
  query ($first: Int, $after: String, $filter: EventFilter) {
    events(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id type createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }`);

type Case = {
  name: string;
  workspaceId: string;
  list: "deliveries" | "events";
  variables: Record<string, unknown>;
};

type Captured = { query: string; params: unknown[] };

type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Filter?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  "Sort Key"?: string[];
  "Presorted Key"?: string[];
  Plans?: PlanNode[];
};
type Explained = { Plan: PlanNode; "Planning Time": number; "Execution Time": number };

function walk(node: PlanNode, depth: number, visit: (node: PlanNode, depth: number) => void): void {
  visit(node, depth);
  for (const child of node.Plans ?? []) walk(child, depth + 1, visit);
}

function describe(node: PlanNode): string {
  const what = node["Index Name"]
    ? `${node["Node Type"]} using ${node["Index Name"]}`
    : node["Relation Name"]
      ? `${node["Node Type"]} on ${node["Relation Name"]}`
      : node["Node Type"];
  const removed = node["Rows Removed by Filter"]
    ? `, ${node["Rows Removed by Filter"]} removed by filter`
    : "";
  const buffers = `buffers hit ${node["Shared Hit Blocks"] ?? 0} read ${node["Shared Read Blocks"] ?? 0}`;
  return `${what} (rows ${node["Actual Rows"]}${node["Actual Loops"] > 1 ? ` ×${node["Actual Loops"]}` : ""}${removed}; ${buffers})`;
}

/** The node that reads the table: the main node of the plan. */
function scanOf(plan: PlanNode): PlanNode | undefined {
  let scan: PlanNode | undefined;
  walk(plan, 0, (node) => {
    if (!scan && node["Relation Name"]) scan = node;
  });
  return scan;
}

/** Prisma qualifies every column with its schema and table; drop that for reading. */
const readable = (query: string) => query.replace(/"public"\."\w+"\./g, "").replace(/"public"\./g, "");

async function main() {
  const db = await createTestDatabase();
  const sql = new pg.Client({ connectionString: db.url });
  const adapter = new PrismaPg({ connectionString: db.url, max: 2 });
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  const captured: Captured[] = [];
  prisma.$on("query", (e) => captured.push({ query: e.query, params: JSON.parse(e.params) as unknown[] }));
  // Ctrl-C stops the run but still drops the scratch database.
  const interrupted = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      console.log("interrupted: dropping the scratch database");
      interrupted.abort();
    });
  try {
    await sql.connect();
    const until = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const since = new Date(until.getTime() - SPAN_MS);
    const seeding = Date.now();
    console.log(`seeding ${EVENTS} events + deliveries in A, ${EVENTS_B} in B…`);
    await seed(sql, since, interrupted.signal);
    if (interrupted.signal.aborted) return;
    const seedS = seconds(seeding);
    console.log(`seeded in ${seedS.toFixed(1)} s`);

    /** The cursor of the row `depth` rows into workspace A's list, newest first. */
    const cursorAt = async (table: "Delivery" | "Event", depth: number) => {
      const { rows } = await sql.query<{ at: string; id: string }>(
        `SELECT to_char("createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, id FROM "${table}"
         WHERE "workspaceId" = 'ws_a' ${table === "Event" ? `AND NOT "isTest"` : ""}
         ORDER BY "createdAt" DESC, id DESC OFFSET ${depth - 1} LIMIT 1`,
      );
      const row = rows[0]!;
      return encodeCursor({ createdAt: new Date(row.at), id: row.id });
    };
    const deep = Math.round(EVENTS / 2);
    const mid = since.getTime() + SPAN_MS / 2;
    const window = { since: new Date(mid).toISOString(), until: new Date(mid + 86_400_000).toISOString() };
    const first = PAGE;
    const cases: Case[] = [
      { name: "deliveries, first page", workspaceId: "ws_a", list: "deliveries", variables: { first } },
      {
        name: "deliveries, status FAILED",
        workspaceId: "ws_a",
        list: "deliveries",
        variables: { first, filter: { status: ["FAILED"] } },
      },
      {
        name: "deliveries, endpointId",
        workspaceId: "ws_a",
        list: "deliveries",
        variables: { first, filter: { endpointId: "ep_a_03" } },
      },
      {
        name: "deliveries, eventType",
        workspaceId: "ws_a",
        list: "deliveries",
        variables: { first, filter: { eventTypes: ["email.bounced"] } },
      },
      {
        name: "deliveries, rare eventType (0.1 %)",
        workspaceId: "ws_a",
        list: "deliveries",
        variables: { first, filter: { eventTypes: [RARE_TYPE] } },
      },
      {
        name: "deliveries, 1-day window",
        workspaceId: "ws_a",
        list: "deliveries",
        variables: { first, filter: window },
      },
      {
        name: `deliveries, deep page (after row ${deep})`,
        workspaceId: "ws_a",
        list: "deliveries",
        variables: { first, after: await cursorAt("Delivery", deep) },
      },
      { name: "events, first page", workspaceId: "ws_a", list: "events", variables: { first } },
      {
        name: "events, type",
        workspaceId: "ws_a",
        list: "events",
        variables: { first, filter: { types: ["email.bounced"] } },
      },
      {
        name: "events, rare type (0.1 %)",
        workspaceId: "ws_a",
        list: "events",
        variables: { first, filter: { types: [RARE_TYPE] } },
      },
      {
        name: `events, deep page (after row ${deep})`,
        workspaceId: "ws_a",
        list: "events",
        variables: { first, after: await cursorAt("Event", deep) },
      },
      {
        name: "workspace B, deliveries first page",
        workspaceId: "ws_b",
        list: "deliveries",
        variables: { first },
      },
      { name: "workspace B, events first page", workspaceId: "ws_b", list: "events", variables: { first } },
    ];

    const table: string[] = [];
    const problems: string[] = [];
    for (const c of cases) {
      if (interrupted.signal.aborted) return;
      // The real resolver, through the real schema, with the Prisma client that logs its SQL.
      const contextValue: Context = {
        viewer: { workspaceId: c.workspaceId, via: "api-key", keyId: null, scopes: ["ADMIN"] },
        deps: { prisma } as unknown as Deps,
      };
      captured.length = 0;
      const result = await execute({
        schema,
        document: c.list === "deliveries" ? DELIVERIES : EVENTS_QUERY,
        variableValues: c.variables,
        contextValue,
      });
      if (result.errors?.length) throw new Error(`${c.name}: ${JSON.stringify(result.errors)}`);
      const edges = (result.data?.[c.list] as { edges: unknown[] } | undefined)?.edges.length ?? 0;
      if (captured.length !== 1)
        throw new Error(`${c.name}: expected 1 query, Prisma sent ${captured.length}`);
      const { query, params } = captured[0]!;

      // Warm once (as a busy server would be), then measure.
      await sql.query(query, params);
      const { rows } = await sql.query<{ "QUERY PLAN": Explained[] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${query}`,
        params,
      );
      const explained = rows[0]!["QUERY PLAN"][0]!;
      const ms = explained["Execution Time"];
      console.log(
        `\n## ${c.name}: ${ms.toFixed(2)} ms (planning ${explained["Planning Time"].toFixed(2)} ms)`,
      );
      console.log(`   ${edges} edges; params ${JSON.stringify(params)}`);
      console.log(`   ${readable(query)}`);
      walk(explained.Plan, 0, (node, depth) => {
        const pad = "   ".repeat(depth + 1);
        console.log(`${pad}-> ${describe(node)}`);
        for (const key of ["Index Cond", "Filter"] as const)
          if (node[key]) console.log(`${pad}     ${key}: ${node[key]}`);
        if (node["Sort Key"])
          console.log(
            `${pad}     Sort Key: ${node["Sort Key"].join(", ")}${node["Presorted Key"] ? `; presorted ${node["Presorted Key"].join(", ")}` : ""}`,
          );
      });

      const scan = scanOf(explained.Plan);
      const seq: string[] = [];
      walk(explained.Plan, 0, (node) => {
        if (node["Node Type"] === "Seq Scan") seq.push(node["Relation Name"] ?? "?");
      });
      if (seq.length) problems.push(`${c.name}: Seq Scan on ${seq.join(", ")}`);
      if (ms > SLOW_MS) problems.push(`${c.name}: ${ms.toFixed(1)} ms`);
      const top = explained.Plan["Node Type"];
      const main = scan ? describe(scan).replace(/; buffers.*\)$/, ")") : top;
      table.push(
        `| ${c.name} | ${ms.toFixed(2)} | ${top === scan?.["Node Type"] ? "" : `${top} ← `}${main} |`,
      );
    }

    console.log(
      [
        "",
        `seeding: ${EVENTS} + ${EVENTS_B} events and deliveries in ${seedS.toFixed(1)} s`,
        "",
        "| case | execution ms | plan (main node + index) |",
        "| --- | ---: | --- |",
        ...table,
        "",
        problems.length
          ? `PROBLEMS:\n  ${problems.join("\n  ")}`
          : `every case an index scan under ${SLOW_MS} ms`,
      ].join("\n"),
    );
    if (problems.length) process.exitCode = 1;
  } finally {
    await sql.end().catch(() => {});
    await prisma.$disconnect();
    await db.drop();
  }
}

await main();
