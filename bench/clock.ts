/**
 * Wall-clock milliseconds with sub-millisecond resolution. Comparable across
 * the bench's processes on one machine, so a receipt time taken in the
 * receiver can be subtracted from a send time taken here.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
