import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $Enums, Prisma } from "../../src/db/generated/client.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

// prisma/migrations is written by hand (the Prisma CLI cannot diff offline), so this
// file proves it matches schema.prisma: a model or field added without a migration fails here.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const at = (iso: string) => new Date(iso);

describe("every model round-trips through the client", () => {
  it("writes and reads back every field", async () => {
    const { prisma } = t;
    const workspace = { id: "ws_1", name: "Acme", createdAt: at("2026-01-01T00:00:00.001Z") };
    expect(await prisma.workspace.create({ data: workspace })).toEqual(workspace);

    const apiKey = {
      id: "key_1",
      workspaceId: "ws_1",
      name: "ci",
      prefix: "hp_live_ab",
      hash: "a".repeat(64),
      scopes: [$Enums.ApiKeyScope.PUBLISH, $Enums.ApiKeyScope.READ],
      createdAt: at("2026-01-01T00:00:01.002Z"),
      lastUsedAt: at("2026-01-02T00:00:00.003Z"),
      revokedAt: null,
    };
    await prisma.apiKey.create({ data: apiKey });
    expect(await prisma.apiKey.findUniqueOrThrow({ where: { hash: apiKey.hash } })).toEqual(apiKey);

    const endpoint = {
      id: "ep_1",
      workspaceId: "ws_1",
      url: "https://example.com/hook",
      description: "orders",
      eventTypes: ["email.*", "webhook.test"],
      streams: ["outbound", "broadcast"],
      enabled: false,
      disabledReason: "410 Gone",
      disabledAt: at("2026-01-03T00:00:00.004Z"),
      headers: { "x-token": "abc", nested: { n: 1, list: [true, null] } },
      sensitiveHeaders: ["x-token"],
      secret: "whsec_new",
      previousSecret: "whsec_old",
      previousSecretExpiresAt: at("2026-01-04T00:00:00.005Z"),
      consecutiveFailures: 7,
      failedAttemptsInRow: 9,
      failingSince: at("2026-01-04T12:00:00.008Z"),
      circuitOpenUntil: at("2026-01-05T00:00:00.007Z"),
      retryScheduleMs: [5_000, 10_000, 20_000],
      retryForSeconds: 86_400,
      rateLimitPerSecond: 20,
      createdAt: at("2026-01-01T00:00:02.006Z"),
    };
    const createdEndpoint = await prisma.endpoint.create({ data: endpoint });
    expect(createdEndpoint.updatedAt).toBeInstanceOf(Date);
    expect(await prisma.endpoint.findUniqueOrThrow({ where: { id: "ep_1" } })).toEqual(createdEndpoint);
    expect(createdEndpoint).toMatchObject(endpoint);

    const event = {
      id: "evt_1",
      workspaceId: "ws_1",
      type: "email.bounced",
      stream: "outbound",
      payload: { bounce: { type: "hard", code: 550 }, to: ["a@example.com"], text: "ünïcødé ✓" },
      occurredAt: at("2026-01-05T00:00:00.007Z"),
      idempotencyKey: "idem-1",
      isTest: true,
      createdAt: at("2026-01-05T00:00:01.008Z"),
    };
    await prisma.event.create({ data: event });
    expect(await prisma.event.findUniqueOrThrow({ where: { id: "evt_1" } })).toEqual(event);

    const replay = {
      id: "rpl_1",
      workspaceId: "ws_1",
      status: $Enums.ReplayStatus.RUNNING,
      since: at("2026-01-01T00:00:00.000Z"),
      until: at("2026-01-06T00:00:00.000Z"),
      endpointId: "ep_1",
      eventTypes: ["email.bounced"],
      onlyFailed: true,
      filterKey: "f".repeat(64),
      total: 10,
      enqueued: 9,
      delivered: 8,
      failed: 1,
      error: "boom",
      createdAt: at("2026-01-06T00:00:00.009Z"),
      startedAt: at("2026-01-06T00:00:01.010Z"),
      finishedAt: null,
    };
    await prisma.replay.create({ data: replay });
    expect(await prisma.replay.findUniqueOrThrow({ where: { id: "rpl_1" } })).toEqual(replay);

    const delivery = {
      id: "dlv_1",
      workspaceId: "ws_1",
      eventId: "evt_1",
      endpointId: "ep_1",
      eventType: "email.bounced",
      status: $Enums.DeliveryStatus.RETRYING,
      trigger: $Enums.AttemptTrigger.REPLAY,
      attempts: 3,
      nextAttemptAt: at("2026-01-07T00:00:00.011Z"),
      firstAttemptAt: at("2026-01-06T22:00:00.014Z"),
      lastAttemptAt: at("2026-01-06T23:00:00.012Z"),
      lastResponseStatus: 503,
      lastError: "Service Unavailable",
      succeededAt: null,
      replayId: "rpl_1",
      createdAt: at("2026-01-06T00:00:02.013Z"),
    };
    const createdDelivery = await prisma.delivery.create({ data: delivery });
    expect(createdDelivery).toMatchObject(delivery);
    expect(await prisma.delivery.findUniqueOrThrow({ where: { id: "dlv_1" } })).toEqual(createdDelivery);

    const attempt = {
      id: "att_1",
      workspaceId: "ws_1",
      deliveryId: "dlv_1",
      eventId: "evt_1",
      endpointId: "ep_1",
      number: 3,
      trigger: $Enums.AttemptTrigger.RETRY,
      url: "https://example.com/hook",
      requestHeaders: { "webhook-id": "evt_1", "content-type": "application/json" },
      responseStatus: 503,
      responseHeaders: { "retry-after": "30" },
      responseBody: "try later",
      error: "HTTP 503",
      durationMs: 123,
      succeeded: false,
      startedAt: at("2026-01-06T23:00:00.014Z"),
      createdAt: at("2026-01-06T23:00:00.137Z"),
    };
    await prisma.deliveryAttempt.create({ data: attempt });
    expect(await prisma.deliveryAttempt.findUniqueOrThrow({ where: { id: "att_1" } })).toEqual(attempt);
  });

  it("fills database defaults and leaves optional fields null", async () => {
    const { prisma } = t;
    await prisma.workspace.create({ data: { id: "ws_d", name: "Defaults" } });
    const endpoint = await prisma.endpoint.create({
      data: { id: "ep_d", workspaceId: "ws_d", url: "https://d.example", eventTypes: ["*"], secret: "s" },
    });
    expect(endpoint).toMatchObject({
      description: "",
      streams: [],
      enabled: true,
      disabledReason: null,
      headers: {},
      consecutiveFailures: 0,
      retryScheduleMs: [],
      retryForSeconds: null,
      rateLimitPerSecond: null,
    });
    const event = await prisma.event.create({
      data: { id: "evt_d", workspaceId: "ws_d", type: "email.sent", payload: {}, occurredAt: new Date() },
    });
    const delivery = await prisma.delivery.create({
      data: {
        id: "dlv_d",
        workspaceId: "ws_d",
        eventId: event.id,
        endpointId: "ep_d",
        eventType: event.type,
      },
    });
    expect(delivery).toMatchObject({
      status: "PENDING",
      trigger: "SCHEDULED",
      attempts: 0,
      replayId: null,
      firstAttemptAt: null,
    });
  });

  it("round-trips an inbound source and its log; deleting the source removes its log", async () => {
    const { prisma } = t;
    await prisma.workspace.create({ data: { id: "ws_in", name: "Inbound" } });
    const source = {
      id: "isrc_1",
      workspaceId: "ws_in",
      provider: $Enums.InboundProvider.SENDGRID,
      name: "sendgrid",
      stream: "marketing",
      verification: { publicKey: "MFkw" },
      createdAt: at("2026-01-03T00:00:00.001Z"),
    };
    expect(await prisma.inboundSource.create({ data: source })).toEqual(source);
    const message = {
      id: "imsg_1",
      workspaceId: "ws_in",
      sourceId: "isrc_1",
      status: $Enums.InboundMessageStatus.REJECTED,
      reason: "signature mismatch",
      eventIds: ["evt_a", "evt_b"],
      body: "[]",
      createdAt: at("2026-01-03T00:00:01.002Z"),
    };
    expect(await prisma.inboundMessage.create({ data: message })).toEqual(message);
    await prisma.inboundSource.delete({ where: { id: "isrc_1" } });
    expect(await prisma.inboundMessage.count({ where: { workspaceId: "ws_in" } })).toBe(0);
  });

  it("rejects a second event with the same idempotency key in a workspace, but not across workspaces", async () => {
    const { prisma } = t;
    await prisma.workspace.create({ data: { id: "ws_u", name: "U" } });
    const event = { type: "email.sent", payload: {}, occurredAt: new Date(), idempotencyKey: "same" };
    await prisma.event.create({ data: { ...event, id: "evt_u1", workspaceId: "ws_u" } });
    await expect(
      prisma.event.create({ data: { ...event, id: "evt_u2", workspaceId: "ws_u" } }),
    ).rejects.toMatchObject({ code: "P2002" });
    await prisma.event.create({ data: { ...event, id: "evt_u3", workspaceId: "ws_d" } });
    // NULL keys never collide.
    const noKey = { ...event, idempotencyKey: null, workspaceId: "ws_u" };
    await prisma.event.createMany({
      data: [
        { ...noKey, id: "evt_n1" },
        { ...noKey, id: "evt_n2" },
      ],
    });
  });

  it("rejects a second delivery of an event to the same endpoint", async () => {
    const data = { workspaceId: "ws_d", eventId: "evt_d", endpointId: "ep_d", eventType: "email.sent" };
    await expect(t.prisma.delivery.create({ data: { ...data, id: "dlv_d2" } })).rejects.toMatchObject({
      code: "P2002",
    });
  });

  it("rejects a duplicate API key hash", async () => {
    const key = { workspaceId: "ws_d", name: "k", prefix: "p", hash: "dup" };
    await t.prisma.apiKey.create({ data: { ...key, id: "key_a" } });
    await expect(t.prisma.apiKey.create({ data: { ...key, id: "key_b" } })).rejects.toMatchObject({
      code: "P2002",
    });
  });

  it("deleting a replay keeps its deliveries; deleting the workspace removes everything", async () => {
    const { prisma } = t;
    await prisma.replay.delete({ where: { id: "rpl_1" } });
    expect((await prisma.delivery.findUniqueOrThrow({ where: { id: "dlv_1" } })).replayId).toBeNull();

    await prisma.workspace.delete({ where: { id: "ws_1" } });
    const where = { workspaceId: "ws_1" };
    expect(
      await Promise.all([
        prisma.apiKey.count({ where }),
        prisma.endpoint.count({ where }),
        prisma.event.count({ where }),
        prisma.delivery.count({ where }),
        prisma.deliveryAttempt.count({ where }),
        prisma.replay.count({ where }),
      ]),
    ).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await prisma.workspace.count({ where: { id: "ws_d" } })).toBe(1);
  });
});

describe("the migrated database matches schema.prisma", () => {
  const schema = parseSchema(readFileSync(new URL("../../prisma/schema.prisma", import.meta.url), "utf8"));

  it("has a table per model and a column per scalar field of the generated client", async () => {
    const rows = await t.prisma.$queryRaw<{ table: string; column: string }[]>`
      SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> '_prisma_migrations'`;
    const actual = new Map<string, string[]>();
    for (const r of rows) actual.set(r.table, [...(actual.get(r.table) ?? []), r.column].sort());
    const expected = new Map(
      Object.values(Prisma.ModelName).map((model) => {
        const fields = (Prisma as unknown as Record<string, Record<string, string>>)[
          `${model}ScalarFieldEnum`
        ];
        return [model, Object.values(fields ?? {}).sort()];
      }),
    );
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  });

  it("has each column's type and nullability", async () => {
    const rows = await t.prisma.$queryRaw<{ table: string; column: string; udt: string; nullable: string }[]>`
      SELECT table_name AS "table", column_name AS "column", udt_name AS udt, is_nullable AS nullable
      FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> '_prisma_migrations'`;
    const actual = rows.map((r) => `${r.table}.${r.column} ${r.udt}${r.nullable === "YES" ? " NULL" : ""}`);
    const expected = schema.columns.map((c) => `${c.model}.${c.name} ${c.udt}${c.nullable ? " NULL" : ""}`);
    expect(actual.sort()).toEqual(expected.sort());
  });

  it("has the enums with their values", async () => {
    const rows = await t.prisma.$queryRaw<{ name: string; values: string[] }[]>`
      SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE t.typnamespace = current_schema()::regnamespace GROUP BY t.typname`;
    const expected = Object.entries($Enums).map(([name, values]) => ({
      name,
      values: Object.values(values),
    }));
    expect(sortBy(rows, (r) => r.name)).toEqual(sortBy(expected, (r) => r.name));
  });

  it("has every index and unique constraint, with Prisma's names, sort orders and predicates", async () => {
    const rows = await t.prisma.$queryRaw<Index[]>`
      SELECT i.relname AS name, ix.indisunique AS unique,
        array_agg(a.attname || CASE WHEN ix.indoption[k.n - 1] & 1 = 1 THEN ' DESC' ELSE '' END ORDER BY k.n)
          AS columns,
        pg_get_expr(ix.indpred, ix.indrelid) AS predicate
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class tbl ON tbl.oid = ix.indrelid
      CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
      JOIN pg_attribute a ON a.attrelid = tbl.oid AND a.attnum = k.attnum
      WHERE tbl.relnamespace = current_schema()::regnamespace AND tbl.relname <> '_prisma_migrations'
      GROUP BY i.relname, ix.indisunique, ix.indpred, ix.indrelid`;
    const expected = await Promise.all(
      schema.indexes.map(async ({ model, where, ...index }) => ({
        ...index,
        predicate: where === null ? null : await canonicalPredicate(model, where),
      })),
    );
    expect(sortBy(rows, (r) => r.name)).toEqual(sortBy(expected, (r) => r.name));
  });

  it("has every foreign key with its referential actions", async () => {
    const rows = await t.prisma.$queryRaw<{ name: string; references: string; onDelete: string }[]>`
      SELECT c.conname AS name, c.confrelid::regclass::text AS "references",
        CASE c.confdeltype WHEN 'c' THEN 'Cascade' WHEN 'n' THEN 'SetNull' WHEN 'r' THEN 'Restrict'
          WHEN 'a' THEN 'NoAction' ELSE 'SetDefault' END AS "onDelete"
      FROM pg_constraint c
      WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace AND c.confupdtype = 'c'`;
    expect(sortBy(rows, (r) => r.name)).toEqual(sortBy(schema.foreignKeys, (r) => r.name));
  });
});

type Index = { name: string; unique: boolean; columns: string[]; predicate: string | null };

/** A `where: raw(...)` predicate as PostgreSQL prints it back: made on a scratch index, then rolled back. */
async function canonicalPredicate(model: string, where: string): Promise<string> {
  const rolledBack = new Error("rolled back");
  let predicate = "";
  await t.prisma
    .$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`CREATE INDEX "scratch_predicate" ON "${model}" ("id") WHERE ${where}`);
      const [row] = await tx.$queryRaw<{ predicate: string }[]>`
        SELECT pg_get_expr(ix.indpred, ix.indrelid) AS predicate
        FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
        WHERE i.relname = 'scratch_predicate' AND i.relnamespace = current_schema()::regnamespace`;
      predicate = row!.predicate;
      throw rolledBack;
    })
    .catch((err: unknown) => {
      if (err !== rolledBack) throw err;
    });
  return predicate;
}

function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => key(a).localeCompare(key(b)));
}

/**
 * Just enough of schema.prisma to derive what Prisma's migrate would create: this
 * schema uses default names (no @map/@@map), so Prisma's naming rules apply as-is.
 */
function parseSchema(text: string) {
  const enums = new Set([...text.matchAll(/^enum (\w+) \{/gm)].map((m) => m[1]!));
  const blocks = [...text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)].map((m) => ({
    model: m[1]!,
    body: m[2]!,
  }));
  const models = new Set(blocks.map((b) => b.model));
  const udts: Record<string, string> = {
    String: "text",
    Int: "int4",
    Boolean: "bool",
    DateTime: "timestamp",
    Json: "jsonb",
  };
  const fieldList = (list: string) => list.split(",").map((f) => f.trim());
  const columns: { model: string; name: string; udt: string; nullable: boolean }[] = [];
  const indexes: { model: string; name: string; unique: boolean; columns: string[]; where: string | null }[] =
    [];
  const foreignKeys: { name: string; references: string; onDelete: string }[] = [];

  for (const { model, body } of blocks) {
    for (const line of body.split("\n").map((l) => l.trim())) {
      const field = /^(\w+)\s+(\w+)(\[\]|\?)?(.*)$/.exec(line);
      if (field) {
        const [, name, type, modifier, attrs] = field as unknown as [
          string,
          string,
          string,
          string | undefined,
          string,
        ];
        if (models.has(type)) {
          const rel = /@relation\(fields: \[([^\]]+)\], references: \[[^\]]+\], onDelete: (\w+)\)/.exec(
            attrs,
          );
          if (rel) {
            const name = `${model}_${fieldList(rel[1]!).join("_")}_fkey`;
            foreignKeys.push({ name, references: `"${type}"`, onDelete: rel[2]! });
          }
          continue;
        }
        const base = enums.has(type) ? type : udts[type];
        if (!base) throw new Error(`schema-agreement test does not know the type ${type} (${model}.${name})`);
        const list = modifier === "[]";
        // Prisma creates scalar lists as nullable arrays.
        columns.push({ model, name, udt: list ? `_${base}` : base, nullable: modifier !== undefined });
        if (/@unique\b/.test(attrs))
          indexes.push({ model, name: `${model}_${name}_key`, unique: true, columns: [name], where: null });
        continue;
      }
      const index = /^@@(index|unique)\(\[([^\]]+)\](?:, where: raw\("(.+)"\))?\)$/.exec(line);
      if (index) {
        const parts = fieldList(index[2]!).map((f) => /^(\w+)(\(sort: Desc\))?$/.exec(f)!);
        const unique = index[1] === "unique";
        indexes.push({
          model,
          name: `${model}_${parts.map((p) => p[1]).join("_")}_${unique ? "key" : "idx"}`,
          unique,
          columns: parts.map((p) => `${p[1]}${p[2] ? " DESC" : ""}`),
          // A Prisma string literal: its escapes (\" for a quoted identifier) are JSON's.
          where: index[3] === undefined ? null : (JSON.parse(`"${index[3]}"`) as string),
        });
      }
    }
    indexes.push({ model, name: `${model}_pkey`, unique: true, columns: ["id"], where: null });
  }
  return { columns, indexes, foreignKeys };
}
