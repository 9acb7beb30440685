import { type Publishing, publishPaced, sleep } from "./publisher.ts";
import type { ChaosReceiver, Mailbox, Responder } from "./receiver.ts";
import type { ChaosStack } from "./stack.ts";
import { type Fault, type ScenarioResult, tally } from "./tally.ts";

export type ChaosContext = {
  stack: ChaosStack;
  receiver: ChaosReceiver;
  quick: boolean;
  progress(message: string): void;
};

export type ScenarioPlan = {
  name: string;
  events: number;
  publishPerS: number;
  /** How the receiver answers (200 to everything by default). */
  respond?: Responder;
  /**
   * Duplicates this scenario may cause: none, or at most the deliveries in
   * flight when a process was killed or PostgreSQL crashed.
   */
  duplicates: "none" | "in-flight";
  /** Injects the faults while events are published and delivered. */
  inject?(run: LiveRun): Promise<void>;
  /** Figures of the scenario's own, added to its result. */
  detail?(): Record<string, number>;
  /** Criteria of the scenario's own, checked once it settled: each one not met, in words. */
  check?(run: LiveRun): Promise<string[]>;
};

/** A scenario while it runs, as its fault injection sees it. */
export type LiveRun = {
  ctx: ChaosContext;
  box: Mailbox;
  endpointId: string;
  published(): number;
  /** Acceptances (every 2xx the receiver answered, duplicates included) so far. */
  acceptances(): number;
  untilPublished(count: number): Promise<void>;
  untilAccepted(count: number): Promise<void>;
  /**
   * Deliveries the receiver accepted that the database does not record as
   * SUCCEEDED: what a crash now would leave to be sent again.
   */
  unrecorded(): Promise<number>;
  fault(fault: Omit<Fault, "atS">): void;
};

const PROGRESS_EVERY_MS = 2_000;
/** Once everything settled, late duplicates (a sweep, a stalled job) still have this long to show. */
const QUIET_MS = 3_000;
const STALL_MS = 5_000;
const INJECT_STALL_MS = 30_000;

/**
 * Runs one scenario on a fresh workspace and endpoint: publishes its events
 * at its pace while `inject` injects faults, waits (bounded) until every
 * event reached the receiver and the database settled, then counts.
 */
export async function runScenario(ctx: ChaosContext, plan: ScenarioPlan): Promise<ScenarioResult> {
  const began = Date.now();
  const deadline = began + (ctx.quick ? 180_000 : 300_000);
  const { id: workspaceId, api } = await ctx.stack.newWorkspace(plan.name);
  const { prisma } = ctx.stack;
  const url = ctx.receiver.route(plan.name, plan.respond ?? (() => "ok"));
  const box = ctx.receiver.mailbox(plan.name);
  const endpointId = await api.createEndpoint({ url, eventTypes: ["*"] });
  const publishing = publishPaced(api, {
    key: plan.name,
    total: plan.events,
    perSecond: plan.publishPerS,
    deadline,
  });
  const faults: Fault[] = [];
  const run = liveRun(ctx, { name: plan.name, began, deadline, endpointId, box, publishing, faults });
  const ticker = setInterval(
    () =>
      ctx.progress(
        `${plan.name}: published ${publishing.ids.length}/${plan.events} · delivered ${box.accepted.size} · open ${box.open}`,
      ),
    PROGRESS_EVERY_MS,
  );
  try {
    await Promise.all([publishing.done, plan.inject?.(run)]);
    await settle(ctx, { workspaceId, box, published: publishing.ids, deadline });
    await sleep(QUIET_MS);
  } finally {
    clearInterval(ticker);
    await api.close();
  }
  const failures = (await plan.check?.(run)) ?? [];
  return tally(prisma, failures, {
    scenario: plan.name,
    workspaceId,
    endpointId,
    published: publishing.ids,
    box,
    faults,
    duplicates: plan.duplicates,
    seconds: seconds(began),
    detail: { failedPublishCalls: publishing.failedCalls, ...plan.detail?.() },
  });
}

/** What a scenario's fault injection sees of it while it runs. */
function liveRun(
  ctx: ChaosContext,
  s: {
    name: string;
    began: number;
    deadline: number;
    endpointId: string;
    box: Mailbox;
    publishing: Publishing;
    faults: Fault[];
  },
): LiveRun {
  const { box, publishing } = s;
  /** Waits for `reached`, giving up at the deadline or once neither publishing nor delivery moved for INJECT_STALL_MS. */
  const until = async (reached: () => boolean) => {
    let moved = Date.now();
    let last = -1;
    while (!reached() && Date.now() < s.deadline && Date.now() - moved < INJECT_STALL_MS) {
      const progress = publishing.ids.length + box.acceptances;
      if (progress !== last) [last, moved] = [progress, Date.now()];
      await sleep(20);
    }
  };
  return {
    ctx,
    box,
    endpointId: s.endpointId,
    published: () => publishing.ids.length,
    acceptances: () => box.acceptances,
    untilPublished: (count) => until(() => publishing.ids.length >= count),
    untilAccepted: (count) => until(() => box.accepted.size >= count),
    async unrecorded() {
      const accepted = [...box.accepted.keys()];
      const recorded = await ctx.stack.prisma.delivery.findMany({
        where: { endpointId: s.endpointId, status: "SUCCEEDED" },
        select: { eventId: true },
      });
      const succeeded = new Set(recorded.map((d) => d.eventId));
      return accepted.filter((id) => !succeeded.has(id)).length;
    },
    fault(fault) {
      s.faults.push({ atS: seconds(s.began), ...fault });
      const inFlight = fault.inFlight === undefined ? "" : ` (${fault.inFlight} in flight)`;
      ctx.progress(`${s.name}: ${fault.what}${inFlight}`);
    },
  };
}

/**
 * Waits until the database has no delivery left to attempt, no request is
 * open at the receiver, and either every event arrived or none has for
 * STALL_MS (what is missing then will not come: it is lost).
 */
async function settle(
  ctx: ChaosContext,
  run: {
    workspaceId: string;
    box: Mailbox;
    published: readonly string[];
    deadline: number;
  },
) {
  let seen = -1;
  let lastChange = Date.now();
  while (Date.now() < run.deadline) {
    if (run.box.acceptances !== seen) {
      seen = run.box.acceptances;
      lastChange = Date.now();
    }
    const waiting = await ctx.stack.prisma.delivery
      .count({ where: { workspaceId: run.workspaceId, status: { in: ["PENDING", "RETRYING"] } } })
      .catch(() => Number.NaN);
    const arrived = run.published.every((id) => run.box.accepted.has(id));
    if (waiting === 0 && run.box.open === 0 && (arrived || Date.now() - lastChange > STALL_MS)) return;
    await sleep(250);
  }
}

const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;
