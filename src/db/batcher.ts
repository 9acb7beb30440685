/**
 * Coalesces many concurrent single-item calls into one call per batch, the
 * way DataLoader does: the delivery worker runs hundreds of jobs at once, and
 * one `WHERE id IN (…)` or one multi-row statement costs about what a single
 * row does.
 *
 * A batch runs when it holds `maxBatch` items or `maxDelayMs` after its first
 * item arrived (0: at the end of the current tick). With `waitOnlyBelow`, it
 * waits only while it is small and calls are coming close together (see
 * there). Each caller's promise settles only when its batch has: a writer
 * resolves once the batch is committed, never before. If a batch of several
 * items fails, each item is retried on its own, so one bad item (a row
 * deleted meanwhile) cannot fail the others; only items that fail alone
 * reject. That retry is only sound because `runBatch` is all or nothing (one
 * statement, or one transaction).
 */
export type Batcher<I, O> = {
  run(item: I): Promise<O>;
  /** Runs what is pending now and waits for every batch in flight. */
  flush(): Promise<void>;
};

export function createBatcher<I, O>(opts: {
  maxBatch: number;
  maxDelayMs: number;
  /**
   * Set: a batch waits for maxDelayMs only while it holds fewer items than
   * this and the call before came less than maxDelayMs earlier; otherwise it
   * runs at the end of the tick. A lone call on a quiet system then waits for
   * nothing, a large batch does not wait for more, and lone calls arriving
   * close together share a statement.
   */
  waitOnlyBelow?: number;
  /** Must return one result per item, in the same order. */
  runBatch(items: I[]): Promise<O[]>;
}): Batcher<I, O> {
  type Pending = { item: I; resolve(value: O): void; reject(error: unknown): void };
  let pending: Pending[] = [];
  let cancelTimer: (() => void) | null = null;
  const inFlight = new Set<Promise<void>>();

  const settle = async (batch: Pending[]): Promise<void> => {
    try {
      const results = await opts.runBatch(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} returned ${results.length} results`);
      }
      batch.forEach((p, i) => {
        p.resolve(results[i]!);
      });
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else await Promise.all(batch.map((p) => settle([p])));
    }
  };

  const start = () => {
    cancelTimer?.();
    cancelTimer = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const done = settle(batch).finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  /** Whether the pending batch waits on a timer rather than for the end of the tick. */
  let waiting = false;
  let lastCallAt = Number.NEGATIVE_INFINITY;
  const schedule = (callsClose: boolean) => {
    cancelTimer?.();
    const { maxDelayMs, waitOnlyBelow } = opts;
    waiting =
      maxDelayMs > 0 && (waitOnlyBelow === undefined || (callsClose && pending.length < waitOnlyBelow));
    if (waiting) {
      const timer = setTimeout(start, maxDelayMs);
      cancelTimer = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(start);
      cancelTimer = () => clearImmediate(immediate);
    }
  };

  return {
    run(item) {
      const now = performance.now();
      const callsClose = now - lastCallAt < opts.maxDelayMs;
      lastCallAt = now;
      return new Promise<O>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (pending.length >= opts.maxBatch) start();
        else if (!cancelTimer) schedule(callsClose);
        else if (waiting && pending.length === opts.waitOnlyBelow) schedule(callsClose);
      });
    },
    async flush() {
      start();
      await Promise.all(inFlight);
    },
  };
}
