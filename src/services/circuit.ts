import { queryRows } from "../db/client.ts";
import { type Endpoint, Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { JOB } from "../queue/queues.ts";
import { walkDueDeliveries } from "./deliveries.ts";

/**
 * An endpoint's circuit breaker. After CIRCUIT_FAILURE_THRESHOLD failed
 * attempts in a row the circuit opens for CIRCUIT_COOLDOWN_MS: scheduled
 * attempts to the endpoint send nothing and leave their deliveries as they are
 * (PENDING or RETRYING, due, in the database). A publish does not even
 * enqueue new deliveries to it (src/services/eventInserts.ts), and a retry
 * that comes due costs one database read instead of an attempt, its timeout
 * and a retry job; no delivery uses an attempt of its schedule while it waits.
 *
 * When the cooldown ends, a probe sends the longest-waiting delivery. Any
 * success closes the circuit and sends every delivery that waited; a failure
 * opens it again. The sweeper leaves waiting deliveries alone while the
 * circuit is open, and takes them once it has ended for longer than its grace
 * (a probe lost with Redis).
 *
 * An endpoint that fails for longer (ENDPOINT_FAILURE_THRESHOLD attempts in a
 * row, or answers 410 Gone) is disabled here too (disableEndpoint).
 */

export function isCircuitOpen(endpoint: Pick<Endpoint, "circuitOpenUntil">, now: Date): boolean {
  return endpoint.circuitOpenUntil !== null && endpoint.circuitOpenUntil > now;
}

/** Whether a failure count calls for opening the circuit (false while it is open already). */
export function shouldOpenCircuit(
  deps: Pick<Deps, "config">,
  health: { consecutiveFailures: number; circuitOpenUntil: Date | null },
  now: Date,
): boolean {
  const threshold = deps.config.delivery.circuit.failureThreshold;
  return threshold > 0 && health.consecutiveFailures >= threshold && !isCircuitOpen(health, now);
}

/**
 * Opens the circuit unless it is open already; of several workers failing at
 * once, one opens it, schedules its probe and announces it.
 */
export async function openCircuit(deps: Deps, endpointId: string, now = new Date()): Promise<void> {
  const { cooldownMs } = deps.config.delivery.circuit;
  const until = new Date(now.getTime() + cooldownMs);
  const opened = await updateEndpointIf(
    deps,
    endpointId,
    Prisma.sql`"circuitOpenUntil" = ${until}::timestamp(3)`,
    Prisma.sql`("circuitOpenUntil" IS NULL OR "circuitOpenUntil" <= ${now}::timestamp(3))`,
    now,
  );
  if (!opened) return;
  await deps.queues.maintenance.add(
    JOB.probeEndpoint,
    { endpointId },
    { delay: cooldownMs, jobId: `probe-${endpointId}-${until.getTime()}` },
  );
  deps.logger.warn(
    { endpointId, consecutiveFailures: opened.consecutiveFailures, until },
    "endpoint circuit opened: its deliveries wait for a probe",
  );
  deps.pubsub.publish("endpoint-updated", opened.workspaceId, opened);
}

/**
 * Closes the circuit after a success (or a person's fix), and sends what
 * waited: the deliveries that were due before the circuit's end. Later ones
 * were attempted, or are on their way, as usual.
 */
export async function closeCircuit(deps: Deps, endpoint: Pick<Endpoint, "id" | "circuitOpenUntil">) {
  if (endpoint.circuitOpenUntil === null) return;
  const closed = await updateEndpointIf(
    deps,
    endpoint.id,
    Prisma.sql`"circuitOpenUntil" = NULL, "consecutiveFailures" = 0`,
    Prisma.sql`"circuitOpenUntil" IS NOT NULL`,
  );
  if (!closed) return;
  const released = await releaseWaiting(deps, endpoint.id, endpoint.circuitOpenUntil);
  deps.logger.info({ endpointId: endpoint.id, released }, "endpoint circuit closed");
  deps.pubsub.publish("endpoint-updated", closed.workspaceId, closed);
}

/**
 * Queues the endpoint's unfinished deliveries due by `dueBy` as new batches,
 * longest-waiting first, at most `max`; returns how many.
 */
export function releaseWaiting(
  deps: Deps,
  endpointId: string,
  dueBy: Date,
  max = Number.POSITIVE_INFINITY,
): Promise<number> {
  return walkDueDeliveries(deps.prisma, { dueBy, endpointId }, { chunkSize: 1_000, max }, (deliveryIds) =>
    deps.queues.batches.add(deliveryIds),
  );
}

/**
 * The cooldown is over: sends the endpoint's longest-waiting delivery as the
 * probe. Nothing to do when the circuit closed meanwhile (what waited was
 * sent) or opened again (a later probe is scheduled).
 */
export async function probeCircuit(deps: Deps, endpointId: string, now = new Date()): Promise<void> {
  const [endpoint] = await queryRows<Pick<Endpoint, "circuitOpenUntil">>(
    deps.prisma,
    Prisma.sql`SELECT "circuitOpenUntil" FROM "Endpoint" WHERE "id" = ${endpointId}`,
  );
  if (!endpoint?.circuitOpenUntil || isCircuitOpen(endpoint, now)) return;
  await releaseWaiting(deps, endpointId, endpoint.circuitOpenUntil, 1);
}

/**
 * Disables an endpoint that keeps failing (or answered 410 Gone) unless it
 * is disabled already, and returns it; null when another worker did first.
 */
export function disableEndpoint(deps: Deps, endpointId: string, reason: string, now = new Date()) {
  return updateEndpointIf(
    deps,
    endpointId,
    Prisma.sql`"enabled" = false, "disabledReason" = ${reason}, "disabledAt" = ${now}::timestamp(3)`,
    Prisma.sql`"enabled"`,
    now,
  );
}

/**
 * Sets `changes` on an endpoint if `condition` holds and returns the row as
 * it is now, or null. The worker changes endpoints this way when their
 * health changes, in raw SQL rather than through Prisma: Prisma compiles a
 * query shape the first time a process runs it (the `updateManyAndReturn`
 * and `findUniqueOrThrow` these statements replaced took 50–120 ms on their
 * first run), and these run first in a worker busy with other endpoints'
 * deliveries, all of which wait meanwhile. Opening the first circuit that way in failing-mix cost the
 * healthy endpoints half their deliveries of its first half second (585–775
 * against 1,140–1,500).
 */
async function updateEndpointIf(
  deps: Deps,
  endpointId: string,
  changes: Prisma.Sql,
  condition: Prisma.Sql,
  now = new Date(),
): Promise<Endpoint | null> {
  const [row] = await queryRows<Endpoint>(
    deps.prisma,
    Prisma.sql`
      UPDATE "Endpoint" SET ${changes}, "updatedAt" = ${now}::timestamp(3)
      WHERE "id" = ${endpointId} AND ${condition}
      RETURNING *`,
  );
  return row ?? null;
}
