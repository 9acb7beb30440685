/**
 * Counts the time this process was stalled (its event loop blocked: a loaded
 * machine, a long GC), so an attempt's timeout can give the receiver back the
 * time that was not its own. A tick every TICK_MS notes how much later than
 * asked it ran; it ticks only while someone is watching.
 */
const TICK_MS = 50;
/** A tick this much late counts as a stall; smaller delays are the loop's ordinary jitter. */
const LATE_MS = 20;

export type StallClock = {
  /** Stalled milliseconds so far, counted while watched. */
  stalledMs(): number;
  /** Starts counting (if not already) for one watcher; the returned function stops watching. */
  watch(): () => void;
};

export function createStallClock(): StallClock {
  let stalled = 0;
  let watchers = 0;
  let timer: NodeJS.Timeout | null = null;
  let last = 0;
  const tick = () => {
    const now = performance.now();
    const lateMs = now - last - TICK_MS;
    if (lateMs > LATE_MS) stalled += lateMs;
    last = now;
  };
  return {
    stalledMs() {
      // A stall still going on is counted up to now, should no tick have run since it began.
      if (timer) tick();
      return stalled;
    },
    watch() {
      watchers += 1;
      if (!timer) {
        last = performance.now();
        timer = setInterval(tick, TICK_MS).unref();
      }
      let watching = true;
      return () => {
        if (!watching) return;
        watching = false;
        watchers -= 1;
        if (watchers === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
  };
}
