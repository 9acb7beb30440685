import type { Event, Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { badInput } from "../errors.ts";
import { newId } from "../ids.ts";
import { traced } from "../tracing/tracing.ts";
import { insertEventsAndDeliveries, type NewEvent } from "./eventInserts.ts";
import { catalogTypeOf, OPERATIONAL_EVENT_TYPES, unknownEventType } from "./eventTypes.ts";

export type PublishEventInput = {
  type: string;
  data: unknown;
  stream?: string | null;
  idempotencyKey?: string | null;
  occurredAt?: Date | null;
};

const MAX_KEY_LENGTH = 255;
const MAX_BATCH = 1_000;

/**
 * Checks one event of a publish; returns its catalog type (it may be named as
 * another platform names it) and its data as JSON text, which is what gets stored.
 */
function checkInput(
  deps: Deps,
  input: PublishEventInput,
  index: number | null,
): { type: string; dataJson: string } {
  const at = index === null ? "" : ` (event ${index})`;
  const type = catalogTypeOf(input.type);
  if (type === undefined || OPERATIONAL_EVENT_TYPES.has(type)) {
    throw badInput(`${unknownEventType(input.type)}${at}`, "type");
  }
  if (input.data === null || typeof input.data !== "object" || Array.isArray(input.data)) {
    throw badInput(`data must be a JSON object${at}`, "data");
  }
  const dataJson = JSON.stringify(input.data);
  const size = Buffer.byteLength(dataJson);
  const limit = deps.config.delivery.payloadLimitBytes;
  if (size > limit) throw badInput(`data is ${size} bytes; the limit is ${limit}${at}`, "data");
  if (
    input.idempotencyKey != null &&
    (input.idempotencyKey.length === 0 || input.idempotencyKey.length > MAX_KEY_LENGTH)
  ) {
    throw badInput(`idempotencyKey must be 1–${MAX_KEY_LENGTH} characters${at}`, "idempotencyKey");
  }
  if (input.stream != null && input.stream.length > MAX_KEY_LENGTH) {
    throw badInput(`stream must be at most ${MAX_KEY_LENGTH} characters${at}`, "stream");
  }
  return { type, dataJson };
}

export async function publishEvent(
  deps: Deps,
  workspaceId: string,
  input: PublishEventInput,
): Promise<Event> {
  const [event] = await recordEvents(deps, workspaceId, [{ ...input, ...checkInput(deps, input, null) }]);
  return event!;
}

/** Publishes up to 1,000 events in one transaction; returns them in input order. */
export async function publishEvents(
  deps: Deps,
  workspaceId: string,
  inputs: readonly PublishEventInput[],
): Promise<Event[]> {
  if (inputs.length === 0 || inputs.length > MAX_BATCH)
    throw badInput(`publish 1–${MAX_BATCH} events at a time`, "inputs");
  const checked = inputs.map((input, i) => ({ ...input, ...checkInput(deps, input, i) }));
  return recordEvents(deps, workspaceId, checked);
}

/** An event to record; `dataJson`: its data as JSON text, when the publish's checks made it already. */
type EventToRecord = PublishEventInput & { dataJson?: string };

/**
 * Writes events and one PENDING delivery per matching endpoint in one
 * statement, then enqueues the deliveries (but those waiting for an open
 * circuit). If enqueueing fails (Redis down) the events are still accepted:
 * the sweeper enqueues due deliveries that Redis does not hold, so nothing
 * accepted is lost.
 *
 * An idempotency key seen before returns the event stored under it and
 * delivers nothing new — also when two publishes race (ON CONFLICT DO NOTHING).
 */
export async function recordEvents(
  deps: Deps,
  workspaceId: string,
  inputs: readonly EventToRecord[],
): Promise<Event[]> {
  const now = new Date();
  const events = inputs.map(
    (input): NewEvent => ({
      id: newId("event", now.getTime()),
      type: input.type,
      stream: input.stream ?? null,
      payloadJson: input.dataJson ?? JSON.stringify(input.data),
      occurredAt: input.occurredAt ?? now,
      idempotencyKey: input.idempotencyKey ?? null,
    }),
  );
  // Events already stored under their idempotency key are skipped, and their deliveries with them.
  const inserted = await traced(
    "hookpost.publish.insert",
    "internal",
    { "hookpost.events": events.length },
    () => insertEventsAndDeliveries(deps.prisma, workspaceId, now, events),
  );
  // The deliveries are committed: enqueueing them and looking up skipped events need not wait for each other.
  const [, stored] = await Promise.all([
    enqueueDeliveries(deps, inserted.deliveryIdsToEnqueue),
    resolveEvents(deps, workspaceId, now, inputs, events, inserted.eventIds),
  ]);
  return stored;
}

/** Enqueues deliveries now; on a Redis failure logs and leaves them to the sweeper. */
export async function enqueueDeliveries(deps: Deps, deliveryIds: readonly string[]): Promise<void> {
  if (deliveryIds.length === 0) return;
  try {
    // The batches carry this span's traceparent to the worker: one trace from publish to every attempt.
    await traced("hookpost.enqueue", "producer", { "hookpost.deliveries": deliveryIds.length }, () =>
      deps.queues.batches.add(deliveryIds),
    );
  } catch (err) {
    deps.logger.warn(
      { err, count: deliveryIds.length },
      "enqueue failed; the sweeper will enqueue these deliveries",
    );
  }
}

/**
 * The stored event for each one recorded: the new one, as inserted (no need
 * to read it back), or the earlier one under the same idempotency key, looked up.
 */
async function resolveEvents(
  deps: Deps,
  workspaceId: string,
  now: Date,
  inputs: readonly EventToRecord[],
  events: readonly NewEvent[],
  insertedIds: ReadonlySet<string>,
): Promise<Event[]> {
  const skippedKeys = events.filter((e) => !insertedIds.has(e.id)).map((e) => e.idempotencyKey!);
  const earlier = skippedKeys.length
    ? await deps.prisma.event.findMany({ where: { workspaceId, idempotencyKey: { in: skippedKeys } } })
    : [];
  const byKey = new Map(earlier.map((e) => [e.idempotencyKey!, e]));
  return events.map((e, i) =>
    insertedIds.has(e.id)
      ? {
          id: e.id,
          workspaceId,
          type: e.type,
          stream: e.stream ?? null,
          payload: inputs[i]!.data as Prisma.JsonValue,
          occurredAt: e.occurredAt ?? now,
          idempotencyKey: e.idempotencyKey ?? null,
          isTest: false,
          createdAt: now,
        }
      : byKey.get(e.idempotencyKey!)!,
  );
}
