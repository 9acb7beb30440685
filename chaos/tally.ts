import type { Db } from "../src/db/client.ts";
import type { Mailbox } from "./receiver.ts";

/** One fault as injected: when (seconds into the scenario), what, and the deliveries in flight at that moment. */
export type Fault = { atS: number; what: string; inFlight?: number; detail?: Record<string, number> };

export type ScenarioResult = {
  scenario: string;
  /** Events the api accepted. */
  published: number;
  /** Of those, events the receiver accepted at least once. */
  delivered: number;
  lost: number;
  /** Acceptances beyond the first of an event. */
  duplicated: number;
  /** The most duplicates the criteria allow: 0, or the deliveries in flight at the kills and crashes. */
  duplicatesAllowed: number;
  /** Events the receiver accepted that no publish returned. */
  unexpected: number;
  endpoint: { enabled: boolean; disabledReason: string | null; consecutiveFailures: number };
  /** The database's deliveries of the scenario by status, and its attempts. */
  deliveries: Record<string, number>;
  attempts: number;
  faults: Fault[];
  seconds: number;
  detail: Record<string, number>;
  passed: boolean;
  /** Each criterion that was not met, in words. */
  failures: string[];
};

/** Counts what a scenario delivered, lost and duplicated, and checks it against the criteria. */
export async function tally(
  prisma: Db,
  failuresOfScenario: readonly string[],
  run: {
    scenario: string;
    workspaceId: string;
    endpointId: string;
    published: readonly string[];
    box: Mailbox;
    faults: Fault[];
    duplicates: "none" | "in-flight";
    seconds: number;
    detail: Record<string, number>;
  },
): Promise<ScenarioResult> {
  const published = new Set(run.published);
  const delivered = run.published.filter((id) => run.box.accepted.has(id)).length;
  let duplicated = 0;
  let unexpected = 0;
  for (const [id, times] of run.box.accepted) {
    duplicated += times - 1;
    if (!published.has(id)) unexpected++;
  }
  const duplicatesAllowed =
    run.duplicates === "none" ? 0 : run.faults.reduce((sum, f) => sum + (f.inFlight ?? 0), 0);
  const endpoint = await prisma.endpoint.findUniqueOrThrow({
    where: { id: run.endpointId },
    select: { enabled: true, disabledReason: true, consecutiveFailures: true },
  });
  const byStatus = await prisma.delivery.groupBy({
    by: ["status"],
    where: { workspaceId: run.workspaceId },
    _count: { _all: true },
  });
  const attempts = await prisma.deliveryAttempt.count({ where: { workspaceId: run.workspaceId } });
  const lost = published.size - delivered;
  const failures = [
    lost > 0 && `${lost} of ${published.size} events never delivered`,
    duplicated > duplicatesAllowed &&
      `${duplicated} duplicates, ${duplicatesAllowed} allowed` +
        (run.duplicates === "none"
          ? " (no process was killed, PostgreSQL did not crash)"
          : " (in flight at the faults)"),
    unexpected > 0 && `${unexpected} delivered events that no publish returned`,
    !endpoint.enabled && `endpoint disabled: ${endpoint.disabledReason}`,
    published.size === 0 && "nothing was published",
    ...failuresOfScenario,
  ].filter((f): f is string => typeof f === "string");
  return {
    scenario: run.scenario,
    published: published.size,
    delivered,
    lost,
    duplicated,
    duplicatesAllowed,
    unexpected,
    endpoint,
    deliveries: Object.fromEntries(byStatus.map((g) => [g.status, g._count._all])),
    attempts,
    faults: run.faults,
    seconds: run.seconds,
    detail: run.detail,
    passed: failures.length === 0,
    failures,
  };
}
