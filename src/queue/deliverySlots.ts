/**
 * A worker process's attempts in flight, bounded by WORKER_CONCURRENCY
 * whichever started them: a batch starts many attempts, a retry job one.
 * Waiters get slots first come, first served.
 *
 * It also knows which deliveries are in flight here, so a delivery is never
 * sent twice at once by one process (a sweeper's job for a delivery whose
 * batch attempt is still running).
 */
export type DeliverySlots = {
  /**
   * Waits for a free slot and returns its release, or null at once if this
   * delivery is already in flight here. Release exactly once, when the attempt
   * and whatever it enqueues are done.
   */
  acquire(deliveryId: string): Promise<(() => void) | null>;
  /** Resolves once no slot is taken. */
  drained(): Promise<void>;
  readonly inUse: number;
};

export function createDeliverySlots(size: number): DeliverySlots {
  const inFlight = new Set<string>();
  const waiting: (() => void)[] = [];
  let inUse = 0;
  let onDrained: (() => void)[] = [];

  const releaseOf = (deliveryId: string) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight.delete(deliveryId);
      const next = waiting.shift();
      // The slot passes straight to the next waiter, so inUse stays as it is.
      if (next) return next();
      inUse -= 1;
      if (inUse === 0) {
        for (const resolve of onDrained) resolve();
        onDrained = [];
      }
    };
  };

  return {
    async acquire(deliveryId) {
      if (inFlight.has(deliveryId)) return null;
      // Claimed before waiting, so a second caller for the same delivery is refused meanwhile.
      inFlight.add(deliveryId);
      if (inUse < size) inUse += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      return releaseOf(deliveryId);
    },
    drained() {
      if (inUse === 0) return Promise.resolve();
      return new Promise((resolve) => onDrained.push(resolve));
    },
    get inUse() {
      return inUse;
    },
  };
}
