/**
 * Deliveries waiting, in this worker process, for a slow origin whose
 * connections are all busy, or for a new one to answer its first requests
 * (HttpSender.isSaturated). They wait here, in
 * line, holding no worker slot, and each starts once a connection to its
 * origin is free: one at a time per origin, first come first served.
 *
 * Deferring them through Redis instead cost a BullMQ job cycle and a
 * database load every 250–1,000 ms for each one, whether or not a connection
 * had come free: a receiver that hangs with a few thousand deliveries queued
 * cost healthy endpoints a fifth of their throughput. A delivery waiting here
 * is still PENDING or RETRYING in the database, like one whose batch is
 * queued: should the process die, the sweeper enqueues it again; on shutdown
 * close() hands every waiting delivery back. While the process lives, `hold`
 * keeps the sweeper off the deliveries waiting here, however long the line.
 */
export type OriginLines = {
  /**
   * Whether a scheduled attempt may send to `url` now: whenever its origin is
   * not saturated, whether or not others wait in its line. Holding newcomers
   * back behind a line was a trap under load: one moment of saturation made
   * a line that every later delivery had to join, the line filled, the rest
   * went round through Redis again and again, and the line's starts waited
   * for slots behind them (e2e at a third of its rate).
   */
  admits(url: string, deliveryId: string): boolean;
  /**
   * Puts a delivery at the back of its origin's line; false when the lines
   * are full or closed. `dueAt`: its nextAttemptAt in the database (epoch ms),
   * which the sweeper goes by; `endpointId`: its endpoint's, for dropEndpoint.
   */
  join(url: string, deliveryId: string, dueAt: number, endpointId: string): boolean;
  /**
   * Takes every delivery of an endpoint whose circuit is open out of its
   * line, unstarted, and says how many: each would only be loaded to be
   * skipped. Like every delivery of that endpoint, they wait, due, in the
   * database until its probe gets through (src/services/circuit.ts).
   */
  dropEndpoint(endpointId: string): number;
  /** Whether a delivery waits in a line here. */
  has(deliveryId: string): boolean;
  /** Starts the first deliveries of every line whose origin has a free connection. */
  pump(): void;
  /** Starts no more and returns every delivery still waiting, first first. */
  close(): string[];
  readonly waiting: number;
};

/** How long a line waits at most to look at its origin again, should no attempt end to wake it. */
const PUMP_INTERVAL_MS = 250;

export function createOriginLines(opts: {
  isSaturated(origin: string): boolean;
  /** Runs the attempt of a delivery taken from a line; settles once it is over. */
  start(deliveryId: string): Promise<void>;
  /** Deliveries per origin taken from its line and not yet admitted (or ended). */
  startsAtOnce: number;
  /** Deliveries waiting at most, over all origins; a full process defers more through Redis. */
  maxWaiting: number;
  /**
   * Tells the database that these deliveries are waited for, so that the
   * sweeper leaves them alone: each delivery once it has been due for
   * `holdEveryMs` (as it joins, if it was due that long ago already), then
   * every `holdEveryMs` while it waits. Never rejects.
   *
   * Not as each joins: a line that drains within `holdEveryMs` then costs no
   * write at all, and a delivery that goes round (started, its origin
   * saturated again, back in line) is not written each time. In failing-mix,
   * the hanging endpoint's deliveries were held 995 times in a run.
   */
  hold(deliveryIds: string[]): Promise<void>;
  holdEveryMs: number;
}): OriginLines {
  /** Per origin, the delivery ids waiting, first first (a Map keeps insertion order), with when each was last made due. */
  const lines = new Map<string, Map<string, number>>();
  /** Which line each waiting delivery is in, and its endpoint. */
  const waitingIn = new Map<string, { origin: string; endpointId: string }>();
  let toHold: string[] = [];
  let heldAt = 0;
  /** Deliveries taken from a line and not yet admitted (or ended), by id, with their origin. */
  const starting = new Map<string, string>();
  /** How many of `starting` each origin has. */
  const startingPerOrigin = new Map<string, number>();
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  const originOf = (url: string): string | null => {
    try {
      return new URL(url).origin;
    } catch {
      return null;
    }
  };

  const started = (deliveryId: string) => {
    const origin = starting.get(deliveryId);
    if (origin === undefined) return;
    starting.delete(deliveryId);
    const left = (startingPerOrigin.get(origin) ?? 1) - 1;
    if (left > 0) startingPerOrigin.set(origin, left);
    else startingPerOrigin.delete(origin);
    // The admitted attempt has taken its connection by the time this runs.
    queueMicrotask(pump);
  };

  function pump() {
    if (closed) return;
    for (const [origin, line] of lines) {
      let count = startingPerOrigin.get(origin) ?? 0;
      if (count >= opts.startsAtOnce || opts.isSaturated(origin)) continue;
      for (const deliveryId of line.keys()) {
        line.delete(deliveryId);
        waitingIn.delete(deliveryId);
        starting.set(deliveryId, origin);
        startingPerOrigin.set(origin, ++count);
        void opts.start(deliveryId).finally(() => started(deliveryId));
        if (count >= opts.startsAtOnce) break;
      }
      if (line.size === 0) lines.delete(origin);
    }
    if (waitingIn.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
      toHold = [];
    }
  }

  /** On the line's timer: holds the deliveries that joined late since, and those due for holdEveryMs. */
  function holdWaiting() {
    const now = Date.now();
    if (now - heldAt >= opts.holdEveryMs / 4) {
      heldAt = now;
      for (const line of lines.values())
        for (const [deliveryId, at] of line)
          if (now - at >= opts.holdEveryMs) {
            toHold.push(deliveryId);
            line.set(deliveryId, now);
          }
    }
    // Those that joined and have already left need no holding.
    const stillWaiting = toHold.filter((deliveryId) => waitingIn.has(deliveryId));
    toHold = [];
    if (stillWaiting.length > 0) void opts.hold(stillWaiting);
  }

  const tick = () => {
    holdWaiting();
    pump();
  };

  return {
    admits(url, deliveryId) {
      if (starting.has(deliveryId)) started(deliveryId);
      return !opts.isSaturated(url);
    },
    join(url, deliveryId, dueAt, endpointId) {
      const origin = originOf(url);
      if (closed || origin === null) return false;
      if (waitingIn.has(deliveryId)) return true;
      if (waitingIn.size >= opts.maxWaiting) return false;
      const now = Date.now();
      // Due long enough ago that the sweeper may take it soon: held on the next tick.
      const late = now - dueAt >= opts.holdEveryMs;
      const line = lines.get(origin) ?? new Map<string, number>();
      lines.set(origin, line.set(deliveryId, late ? now : dueAt));
      waitingIn.set(deliveryId, { origin, endpointId });
      if (late) toHold.push(deliveryId);
      timer ??= setInterval(tick, PUMP_INTERVAL_MS).unref();
      return true;
    },
    dropEndpoint(endpointId) {
      let dropped = 0;
      for (const [deliveryId, place] of waitingIn) {
        if (place.endpointId !== endpointId) continue;
        const line = lines.get(place.origin)!;
        line.delete(deliveryId);
        if (line.size === 0) lines.delete(place.origin);
        waitingIn.delete(deliveryId);
        dropped += 1;
      }
      return dropped;
    },
    has: (deliveryId) => waitingIn.has(deliveryId),
    pump,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = null;
      const left = [...lines.values()].flatMap((line) => [...line.keys()]);
      lines.clear();
      waitingIn.clear();
      toHold = [];
      return left;
    },
    get waiting() {
      return waitingIn.size;
    },
  };
}
