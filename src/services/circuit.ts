import { queryRows } from "../db/client.ts";
import { type Endpoint, Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import { JOB } from "../jobs.ts";
import type { HealthChange } from "./attemptWriter.ts";
import { walkDueDeliveries } from "./deliveries.ts";
import { publishEndpointChange } from "./operational.ts";

/**
 * An endpoint's circuit breaker. After CIRCUIT_FAILURE_THRESHOLD failed
 * attempts in a row the circuit opens for CIRCUIT_COOLDOWN_MS: scheduled
 * attempts to the endpoint send nothing and leave their deliveries as they are
 * (PENDING or RETRYING, due, in the database): it only pauses them, and none
 * uses an attempt of its schedule while it waits. A publish does not even
 * enqueue new deliveries to it (src/services/eventInserts.ts).
 *
 * When the cooldown ends, a probe sends the longest-waiting delivery. Any
 * success closes the circuit and sends every delivery that waited; a failure
 * opens it again. The sweeper leaves waiting deliveries alone while the
 * circuit is open, and takes them once it has ended for longer than its grace
 * (a probe lost with Redis).
 *
 * Whether a circuit opens or closes, and whether an endpoint is disabled, is
 * decided as attempts are recorded (src/services/attemptWriter.ts); this
 * module acts on those changes once they are committed.
 */

export function isCircuitOpen(endpoint: Pick<Endpoint, "circuitOpenUntil">, now: Date): boolean {
  return endpoint.circuitOpenUntil !== null && endpoint.circuitOpenUntil > now;
}

/**
 * Acts on what recording an attempt changed about its endpoint: schedules the
 * probe of a circuit it opened, sends what waited behind a circuit it closed,
 * and announces it. Each change is handed to one write only, so it is acted on once.
 */
export async function actOnHealthChange(deps: Deps, change: HealthChange): Promise<void> {
  const { endpointId, circuitOpenedUntil, circuitClosedFrom, disabledReason } = change;
  const counts = {
    failedAttemptsInRow: change.failedAttemptsInRow,
    consecutiveFailures: change.consecutiveFailures,
  };
  if (circuitOpenedUntil) {
    await deps.queues.maintenance.add(
      JOB.probeEndpoint,
      { endpointId },
      {
        delay: Math.max(0, circuitOpenedUntil.getTime() - Date.now()),
        jobId: `probe-${endpointId}-${circuitOpenedUntil.getTime()}`,
      },
    );
    deps.logger.warn(
      { endpointId, ...counts, until: circuitOpenedUntil },
      "endpoint circuit opened: its deliveries wait for a probe",
    );
  }
  if (circuitClosedFrom) {
    const released = await releaseWaiting(deps, endpointId, circuitClosedFrom);
    deps.logger.info({ endpointId, released }, "endpoint circuit closed");
  }
  if (disabledReason)
    deps.logger.warn({ endpointId, ...counts, reason: disabledReason }, "endpoint disabled");
  const endpoint = await endpointById(deps, endpointId);
  if (!endpoint) return;
  if (disabledReason) await publishEndpointChange(deps, endpoint);
  else deps.pubsub.publish("endpoint-updated", endpoint.workspaceId, endpoint);
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
 * The endpoint as it is now. Raw SQL rather than Prisma: Prisma compiles a
 * query shape the first time a process runs it (50–120 ms), and this runs
 * first in a worker busy with other endpoints' deliveries, all of which wait
 * meanwhile.
 */
async function endpointById(deps: Deps, endpointId: string): Promise<Endpoint | null> {
  const [row] = await queryRows<Endpoint>(
    deps.prisma,
    Prisma.sql`SELECT * FROM "Endpoint" WHERE "id" = ${endpointId}`,
  );
  return row ?? null;
}
