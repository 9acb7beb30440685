import { forbidden, notFound, unauthenticated } from "../errors.ts";
import type { Viewer } from "./auth.ts";

/**
 * What one request may reach, beyond its workspace: a portal link scoped to
 * some endpoints reaches only them, their deliveries and attempts, the events
 * delivered to them and the replays made for them. Every resolver that reads
 * or changes such rows goes through these helpers, over HTTP and WebSocket alike.
 */
type Caller = Readonly<{ viewer: Viewer | null }>;

/** The endpoints the caller is limited to, or null for every endpoint of its workspace. */
export function endpointScope(caller: Caller): readonly string[] | null {
  if (!caller.viewer) throw unauthenticated();
  return caller.viewer.portal?.endpointIds ?? null;
}

/** Prisma filter on a column holding an endpoint id: nothing for unscoped callers, else only their endpoints. */
export function endpointFilter<Column extends string>(
  caller: Caller,
  column: Column,
): Partial<Record<Column, { in: string[] }>> {
  const scope = endpointScope(caller);
  return scope ? ({ [column]: { in: [...scope] } } as Record<Column, { in: string[] }>) : {};
}

/** Prisma filter on events: only those delivered (or being delivered) to the caller's endpoints. */
export function eventFilter(caller: Caller): { deliveries?: { some: { endpointId: { in: string[] } } } } {
  const scope = endpointScope(caller);
  return scope ? { deliveries: { some: { endpointId: { in: [...scope] } } } } : {};
}

/** Whether the caller may see rows of this endpoint (null: rows of no single endpoint, e.g. a workspace-wide replay). */
export function mayReachEndpoint(caller: Caller, endpointId: string | null): boolean {
  const scope = endpointScope(caller);
  return !scope || (endpointId !== null && scope.includes(endpointId));
}

/** Refuses an endpoint outside the caller's scope as if it did not exist: a scoped link learns nothing of others. */
export function checkEndpointReachable(caller: Caller, endpointId: string): void {
  if (!mayReachEndpoint(caller, endpointId)) throw notFound("endpoint", endpointId);
}

/** Endpoint-scoped links manage their endpoints, and cannot add any. */
export function checkMayCreateEndpoints(caller: Caller): void {
  if (endpointScope(caller))
    throw forbidden("this portal link is limited to some endpoints; it cannot add one");
}

/** A scoped link replays to one of its endpoints, named: a workspace-wide replay would reach others. */
export function checkReplayTarget(caller: Caller, endpointId: string | null): void {
  if (endpointId !== null) checkEndpointReachable(caller, endpointId);
  else if (endpointScope(caller))
    throw forbidden("this portal link is limited to some endpoints; name one of them as endpointId");
}
