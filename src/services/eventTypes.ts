import { Prisma } from "../db/generated/client.ts";
import { quote } from "../errors.ts";

/**
 * The canonical event catalog and endpoint filter matching.
 * Filters are "*", exact types ("email.bounced") or prefixes ending in ".*"
 * ("email.*").
 */
export const EVENT_CATALOG = [
  { type: "email.queued", description: "The message was accepted and queued for sending." },
  { type: "email.sent", description: "The message was handed to the sending infrastructure." },
  { type: "email.delivered", description: "The recipient's mail server accepted the message." },
  {
    type: "email.delivery_delayed",
    description: "Delivery is delayed by the receiving server; it is being retried.",
  },
  { type: "email.bounced", description: "The message bounced; data.bounce.type is hard or soft." },
  { type: "email.complained", description: "The recipient marked the message as spam." },
  { type: "email.rejected", description: "The message was rejected or suppressed before sending." },
  { type: "email.failed", description: "Sending failed permanently after all attempts." },
  { type: "email.held", description: "The message is held (limits reached or development mode)." },
  { type: "email.opened", description: "The recipient opened the message." },
  { type: "email.clicked", description: "The recipient clicked a tracked link." },
  { type: "email.unsubscribed", description: "The recipient unsubscribed through the opt-out link." },
  { type: "domain.dns_error", description: "A sending domain's DNS configuration has a problem." },
  { type: "webhook.test", description: "A test event sent by testEndpoint." },
  {
    type: "endpoint.disabled",
    description: "An endpoint was disabled (by a person or after consecutive failures).",
  },
  { type: "endpoint.enabled", description: "An endpoint was enabled again." },
  { type: "delivery.exhausted", description: "A delivery failed after its last retry." },
  { type: "delivery.recovered", description: "An endpoint succeeded again after failed deliveries." },
] as const;

export type EventTypeName = (typeof EVENT_CATALOG)[number]["type"];

/** Types about Hookpost itself: never produced by publishEvent, delivered only to endpoints that name them. */
export const OPERATIONAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  "endpoint.disabled",
  "endpoint.enabled",
  "delivery.exhausted",
  "delivery.recovered",
]);

const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_CATALOG.map((e) => e.type));
const KNOWN_PREFIXES: ReadonlySet<string> = new Set(EVENT_CATALOG.map((e) => e.type.split(".")[0] ?? ""));

export function isKnownEventType(type: string): boolean {
  return KNOWN_TYPES.has(type);
}

/** Returns a reason when `filter` is not "*", a known type, or a known "<family>.*" prefix. */
export function invalidEventTypeFilter(filter: string): string | undefined {
  if (filter === "*" || KNOWN_TYPES.has(filter)) return undefined;
  if (filter.endsWith(".*") && KNOWN_PREFIXES.has(filter.slice(0, -2))) return undefined;
  return `unknown event type ${quote(filter)} (see the eventTypes query; use "*" or a prefix like "email.*")`;
}

/**
 * The endpoint filter values that receive `type`: the type itself, its
 * "<family>.*" prefix, and "*" — except for operational events, which go only
 * to endpoints that name them (or "endpoint.*" / "delivery.*"), so "*"
 * endpoints are not flooded with Hookpost's own notices.
 */
export function filtersReceiving(type: string): string[] {
  const prefix = `${type.slice(0, type.indexOf("."))}.*`;
  return OPERATIONAL_EVENT_TYPES.has(type) ? [type, prefix] : [type, prefix, "*"];
}

/** Whether an endpoint with `filters` receives `type`. */
export function eventTypeMatches(filters: readonly string[], type: string): boolean {
  const receiving = filtersReceiving(type);
  return filters.some((f) => receiving.includes(f));
}

/** Whether an endpoint's stream/domain filter (empty = all) admits an event's stream. */
export function streamMatches(streams: readonly string[], stream: string | null): boolean {
  return streams.length === 0 || (stream !== null && streams.includes(stream));
}

const RECEIVING_BY_TYPE = JSON.stringify(
  EVENT_CATALOG.map(({ type }) => ({ type, filters: filtersReceiving(type) })),
);

/**
 * filtersReceiving of every catalog type as a FROM item with columns
 * (type, filters), to join on an event's type in statements that match
 * endpoints themselves.
 */
export function receivingFiltersSql(alias: string): Prisma.Sql {
  return Prisma.sql`json_to_recordset(${RECEIVING_BY_TYPE}::json) AS ${Prisma.raw(alias)}(type text, filters text[])`;
}

/**
 * eventTypeMatches and streamMatches in SQL: `endpoint` is the Endpoint row's
 * alias, `receiving` the event type's filters (from receivingFiltersSql),
 * `stream` the event's stream.
 */
export function endpointAdmitsSql(endpoint: string, receiving: Prisma.Sql, stream: Prisma.Sql): Prisma.Sql {
  const n = Prisma.raw(endpoint);
  return Prisma.sql`${n}."eventTypes" && ${receiving}
    AND (coalesce(cardinality(${n}.streams), 0) = 0 OR ${stream} = ANY(${n}.streams))`;
}
