/**
 * A worker process's attempts in flight, bounded by WORKER_CONCURRENCY
 * whichever started them: a batch starts many attempts, a retry job one.
 * Waiters get slots first come, first served.
 *
 * An attempt whose receiver is slow sets its slot aside: the slot goes to the
 * next waiter while the attempt goes on, counted apart, up to as many again.
 * Otherwise a few endpoints that hang would hold every slot until their
 * timeouts (an origin has up to OUTBOUND_CONNECTIONS_PER_ORIGIN attempts in
 * flight, eight before it first answers, before its further deliveries wait
 * in line, src/backpressure/originLines.ts).
 *
 * It also knows which deliveries are in flight here, so a delivery is never
 * sent twice at once by one process (a sweeper's job for a delivery whose
 * batch attempt is still running).
 */
export type DeliverySlots = {
  /**
   * Waits for a free slot and returns it, or null at once if this delivery is
   * already in flight here.
   */
  acquire(deliveryId: string): Promise<Slot | null>;
  /** Resolves once no attempt is in flight, set aside or not. */
  drained(): Promise<void>;
  /** Slots taken, those set aside not included. */
  readonly inUse: number;
  readonly setAside: number;
};

export type Slot = {
  /** Once, when the attempt and whatever it enqueues are done; again does nothing. */
  release(): void;
  /** Passes the slot on while the attempt goes on; false (and it keeps the slot) when as many are set aside as there are slots. */
  setAside(): boolean;
};

export function createDeliverySlots(size: number): DeliverySlots {
  const inFlight = new Set<string>();
  const waiting: (() => void)[] = [];
  let inUse = 0;
  let setAside = 0;
  let onDrained: (() => void)[] = [];

  const checkDrained = () => {
    if (inUse > 0 || setAside > 0) return;
    for (const resolve of onDrained) resolve();
    onDrained = [];
  };
  const passOn = () => {
    const next = waiting.shift();
    // The slot passes straight to the next waiter, so inUse stays as it is.
    if (next) return next();
    inUse -= 1;
    checkDrained();
  };

  const slotOf = (deliveryId: string): Slot => {
    let state: "held" | "aside" | "released" = "held";
    return {
      release() {
        if (state === "released") return;
        const wasAside = state === "aside";
        state = "released";
        inFlight.delete(deliveryId);
        if (!wasAside) return passOn();
        setAside -= 1;
        checkDrained();
      },
      setAside() {
        if (state !== "held" || setAside >= size) return false;
        state = "aside";
        setAside += 1;
        passOn();
        return true;
      },
    };
  };

  return {
    async acquire(deliveryId) {
      if (inFlight.has(deliveryId)) return null;
      // Claimed before waiting, so a second caller for the same delivery is refused meanwhile.
      inFlight.add(deliveryId);
      if (inUse < size) inUse += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      return slotOf(deliveryId);
    },
    drained() {
      if (inUse === 0 && setAside === 0) return Promise.resolve();
      return new Promise((resolve) => onDrained.push(resolve));
    },
    get inUse() {
      return inUse;
    },
    get setAside() {
      return setAside;
    },
  };
}
