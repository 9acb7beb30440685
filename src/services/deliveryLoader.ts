import { type Batcher, createBatcher } from "../db/batcher.ts";
import type { Db } from "../db/client.ts";
import { type Delivery, type Endpoint, type Event, Prisma, type Replay } from "../db/generated/client.ts";

/** A delivery with what one attempt needs: its event, its endpoint, and the replay that last reset it. */
export type LoadedDelivery = Delivery & {
  event: Event;
  endpoint: Endpoint;
  replay: Pick<Replay, "status" | "endpointId"> | null;
};

/**
 * Loads the deliveries of many concurrent attempts with one query per tick:
 * one SELECT joining their events, endpoints and replays. Prisma's
 * `findMany({ include })` runs a query per relation and maps every row in
 * JavaScript, which costs the worker (and PostgreSQL) several times more.
 *
 * The joined columns come back as `event.<field>` / `endpoint.<field>` /
 * `replay.<field>`, typed by PostgreSQL (dates as Date, JSON parsed), and are
 * nested here. The column lists are checked against the Prisma types, so a new
 * field fails the type check until it is listed.
 */
export function createDeliveryLoader(prisma: Db): Batcher<string, LoadedDelivery | null> {
  return createBatcher({
    maxBatch: 500,
    maxDelayMs: 0,
    async runBatch(ids) {
      const rows = await prisma.$queryRaw<Record<string, unknown>[]>`
        ${SELECT} WHERE d."id" = ANY(${[...new Set(ids)]}::text[])`;
      const byId = new Map(rows.map((row) => [row.id as string, nest(row)]));
      return ids.map((id) => byId.get(id) ?? null);
    },
  });
}

const EVENT_FIELDS = {
  id: true,
  workspaceId: true,
  type: true,
  stream: true,
  payload: true,
  occurredAt: true,
  idempotencyKey: true,
  isTest: true,
  createdAt: true,
} satisfies Record<keyof Event, true>;

const ENDPOINT_FIELDS = {
  id: true,
  workspaceId: true,
  url: true,
  description: true,
  eventTypes: true,
  streams: true,
  enabled: true,
  disabledReason: true,
  disabledAt: true,
  headers: true,
  secret: true,
  previousSecret: true,
  previousSecretExpiresAt: true,
  consecutiveFailures: true,
  createdAt: true,
  updatedAt: true,
} satisfies Record<keyof Endpoint, true>;

const REPLAY_FIELDS = { status: true, endpointId: true } satisfies Partial<Record<keyof Replay, true>>;

const RELATIONS = {
  event: ["e", EVENT_FIELDS],
  endpoint: ["n", ENDPOINT_FIELDS],
  replay: ["r", REPLAY_FIELDS],
} as const;

const SELECT = Prisma.raw(`
  SELECT d.*, ${Object.entries(RELATIONS)
    .flatMap(([relation, [alias, fields]]) =>
      Object.keys(fields).map((field) => `${alias}."${field}" AS "${relation}.${field}"`),
    )
    .join(", ")}
  FROM "Delivery" d
  JOIN "Event" e ON e."id" = d."eventId"
  JOIN "Endpoint" n ON n."id" = d."endpointId"
  LEFT JOIN "Replay" r ON r."id" = d."replayId"`);

/** `{ id, …, "event.id": … }` → `{ id, …, event: { id, … } }`; a replay that is not there is null. */
function nest(row: Record<string, unknown>): LoadedDelivery {
  const delivery: Record<string, unknown> = {};
  const related: Record<string, Record<string, unknown>> = { event: {}, endpoint: {}, replay: {} };
  for (const [column, value] of Object.entries(row)) {
    const dot = column.indexOf(".");
    if (dot < 0) delivery[column] = value;
    else related[column.slice(0, dot)]![column.slice(dot + 1)] = value;
  }
  return {
    ...(delivery as Delivery),
    event: related.event as Event,
    endpoint: related.endpoint as Endpoint,
    replay: delivery.replayId === null ? null : (related.replay as LoadedDelivery["replay"]),
  };
}
