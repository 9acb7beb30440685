import type { InboundMessageStatus, InboundSource } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { newId } from "../ids.ts";
import { recordEvents } from "../services/events.ts";
import { contentId } from "./parse.ts";
import { PROVIDERS } from "./providers.ts";
import {
  InboundBodyError,
  type InboundRequest,
  InboundUnavailableError,
  type InboundVerification,
  type MappedEvent,
} from "./types.ts";

/** How much of a request's body the log keeps. */
export const LOGGED_BODY_CHARS = 4_096;

/** What the route answers, and what the log records. */
export type InboundOutcome = {
  httpStatus: number;
  status: InboundMessageStatus;
  reason: string | null;
  eventIds: string[];
};

export function findSourceForInbound(deps: Deps, sourceId: string): Promise<InboundSource | null> {
  return deps.prisma.inboundSource.findUnique({ where: { id: sourceId } });
}

/** Records one request in the source's log. */
export async function logInbound(
  deps: Deps,
  source: InboundSource,
  body: string,
  outcome: Omit<InboundOutcome, "httpStatus">,
): Promise<void> {
  await deps.prisma.inboundMessage.create({
    data: {
      id: newId("inboundMessage"),
      workspaceId: source.workspaceId,
      sourceId: source.id,
      status: outcome.status,
      reason: outcome.reason,
      eventIds: outcome.eventIds,
      body: body.slice(0, LOGGED_BODY_CHARS),
    },
  });
}

/**
 * The idempotency key of a provider event: the provider's own id (kept across
 * its retries), scoped to the source; events without one are keyed by content.
 */
function idempotencyKeyOf(source: InboundSource, event: MappedEvent): string {
  const id = event.data.providerEventId || contentId(JSON.stringify(event.data) + event.providerType);
  return `inbound:${source.id}:${id.length > 128 ? contentId(id) : id}`;
}

/** Verifies, maps and publishes one request; the events are durable when it returns. */
async function ingest(deps: Deps, source: InboundSource, request: InboundRequest): Promise<InboundOutcome> {
  const provider = PROVIDERS[source.provider];
  const tools = { sns: deps.sns };
  let mapped: MappedEvent[];
  try {
    const refusal = await provider.verify(
      request,
      source.verification as InboundVerification,
      new Date(),
      tools,
    );
    if (refusal) return rejected(401, refusal);
    const handshake = await provider.handshake?.(request, tools);
    if (handshake) return { httpStatus: 200, status: "IGNORED", reason: handshake, eventIds: [] };
    mapped = provider.map(request);
  } catch (err) {
    if (err instanceof InboundBodyError) return rejected(400, err.message);
    if (err instanceof InboundUnavailableError) return rejected(503, err.message);
    throw err;
  }
  const known = mapped.filter((e) => e.type !== null);
  const unknownTypes = [...new Set(mapped.filter((e) => e.type === null).map((e) => e.providerType))];
  const reason = unknownTypes.length > 0 ? `unknown event types ignored: ${unknownTypes.join(", ")}` : null;
  if (known.length === 0) return { httpStatus: 200, status: "IGNORED", reason, eventIds: [] };
  const events = await recordEvents(
    deps,
    source.workspaceId,
    known.map((e) => ({
      type: e.type!,
      data: e.data,
      stream: source.stream,
      occurredAt: e.occurredAt,
      idempotencyKey: idempotencyKeyOf(source, e),
    })),
  );
  return { httpStatus: 200, status: "ACCEPTED", reason, eventIds: events.map((e) => e.id) };
}

const rejected = (httpStatus: number, reason: string): InboundOutcome => ({
  httpStatus,
  status: "REJECTED",
  reason,
  eventIds: [],
});

/** Handles a request to a source: ingests it and logs what became of it. */
export async function receiveInbound(
  deps: Deps,
  source: InboundSource,
  request: InboundRequest,
): Promise<InboundOutcome> {
  const outcome = await ingest(deps, source, request);
  await logInbound(deps, source, request.body, outcome);
  return outcome;
}
