import { Prisma } from "../db/generated/client.ts";
import { aliasesOfCatalog, EVENT_NAMES, eventNameIn } from "../delivery/formats/eventNames.ts";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../delivery/formats/types.ts";
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

/** Other platforms' names (src/delivery/formats/eventNames.ts), each to its catalog type. */
const ALIASES: ReadonlyMap<string, string> = aliasesOfCatalog();
const ALL_NAMES: readonly string[] = [...KNOWN_TYPES, ...ALIASES.keys()];

/** The catalog type `name` stands for (a catalog name or another platform's); undefined when none. */
export function catalogTypeOf(name: string): string | undefined {
  return KNOWN_TYPES.has(name) ? name : ALIASES.get(name);
}

/** Each name a type has in each format, for the eventTypes query. */
export function namesByFormat(type: string): { format: WebhookFormat; name: string }[] {
  return WEBHOOK_FORMATS.map((format) => ({ format, name: eventNameIn(format, type) }));
}

/** Every other name of a catalog type that is accepted for it. */
export function aliasesOf(type: string): string[] {
  const names = EVENT_NAMES[type];
  return [...new Set([...Object.values(names?.in ?? {}), ...(names?.aliases ?? [])])].filter(
    (n) => n !== type,
  );
}

/** "unknown event type …", naming the known names closest to it. */
export function unknownEventType(name: string): string {
  const close = closestNames(name);
  const hint = close.length > 0 ? `; did you mean ${close.map((n) => `"${n}"`).join(", ")}?` : "";
  return `unknown event type ${quote(name)}${hint} (the eventTypes query lists them)`;
}

const MAX_SUGGESTIONS = 3;
/** Longer names are no typo of a known one; comparing them would only cost time. */
const MAX_COMPARED_CHARS = 64;

function closestNames(name: string): string[] {
  if (name.length > MAX_COMPARED_CHARS) return [];
  const lower = name.toLowerCase();
  const allowed = Math.max(2, Math.floor(lower.length / 3));
  return ALL_NAMES.map((known) => ({ known, distance: editDistance(lower, known.toLowerCase()) }))
    .filter(({ distance }) => distance <= allowed)
    .sort((a, b) => a.distance - b.distance)
    .slice(0, MAX_SUGGESTIONS)
    .map(({ known }) => known);
}

/** Levenshtein distance; names are short. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * An endpoint's filters in catalog terms: each entry may be "*", a catalog
 * type, a "<family>.*" prefix, another platform's name, or several of these
 * comma-separated ("open,click,bounce"). A reason when one is unknown.
 */
export function catalogFilters(filters: readonly string[]): { filters: string[] } | { reason: string } {
  const out = new Set<string>();
  for (const filter of filters.flatMap((f) => f.split(","))) {
    const name = filter.trim();
    const type =
      name === "*" || (name.endsWith(".*") && KNOWN_PREFIXES.has(name.slice(0, -2)))
        ? name
        : catalogTypeOf(name);
    if (type === undefined)
      return { reason: `${unknownEventType(name)}; use "*" or a prefix like "email.*"` };
    out.add(type);
  }
  return { filters: [...out] };
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
