import { describe, expect, it } from "vitest";
import { createBatcher } from "../../../src/db/batcher.ts";

/** A runBatch that records every batch it is given and doubles each item. */
function recording() {
  const batches: number[][] = [];
  return {
    batches,
    runBatch: async (items: number[]) => {
      batches.push(items);
      return items.map((n) => n * 2);
    },
  };
}

/** A promise plus its resolve, to hold a batch open until the test lets it finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("createBatcher", () => {
  it("runs the calls of one tick as one batch and answers each caller in order", async () => {
    const r = recording();
    const batcher = createBatcher({ maxBatch: 100, maxDelayMs: 0, runBatch: r.runBatch });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.run(n)));
    expect(results).toEqual([2, 4, 6]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it("starts a batch as soon as it is full", async () => {
    const r = recording();
    const batcher = createBatcher({ maxBatch: 2, maxDelayMs: 60_000, runBatch: r.runBatch });
    const results = await Promise.all([1, 2, 3, 4].map((n) => batcher.run(n)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(r.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("gathers calls made within maxDelayMs into one batch", async () => {
    const r = recording();
    const batcher = createBatcher({ maxBatch: 100, maxDelayMs: 50, runBatch: r.runBatch });
    const first = batcher.run(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const second = batcher.run(2);
    expect(r.batches).toEqual([]);
    await Promise.all([first, second]);
    expect(r.batches).toEqual([[1, 2]]);
  });

  it("with waitOnlyBelow, runs a lone call at once, and waits only for calls coming close together while few", async () => {
    const r = recording();
    const endOfTick = () => new Promise<void>((resolve) => setImmediate(resolve));
    const batcher = createBatcher({
      maxBatch: 100,
      maxDelayMs: 60_000,
      waitOnlyBelow: 4,
      runBatch: r.runBatch,
    });
    // Nothing came before it: no reason to wait.
    const lone = batcher.run(1);
    await endOfTick();
    expect(r.batches).toEqual([[1]]);
    expect(await lone).toBe(2);
    // Each came right after another: they wait for company, until there are four.
    const close = [2, 3, 4].map((n) => batcher.run(n));
    await endOfTick();
    expect(r.batches).toEqual([[1]]);
    close.push(batcher.run(5));
    await endOfTick();
    expect(r.batches).toEqual([[1], [2, 3, 4, 5]]);
    expect(await Promise.all(close)).toEqual([4, 6, 8, 10]);
  });

  it("settles no caller before its batch has finished", async () => {
    const hold = gate();
    let finished = false;
    const batcher = createBatcher({
      maxBatch: 100,
      maxDelayMs: 0,
      runBatch: async (items: number[]) => {
        await hold.opened;
        finished = true;
        return items;
      },
    });
    const settledEarly: boolean[] = [];
    const calls = [1, 2].map((n) => batcher.run(n).then(() => settledEarly.push(!finished)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settledEarly).toEqual([]);
    hold.open();
    await Promise.all(calls);
    expect(settledEarly).toEqual([false, false]);
  });

  it("retries a failed batch item by item, so only the bad item rejects", async () => {
    const batches: number[][] = [];
    const batcher = createBatcher({
      maxBatch: 100,
      maxDelayMs: 0,
      runBatch: async (items: number[]) => {
        batches.push(items);
        if (items.includes(13)) throw new Error("13 is unlucky");
        return items;
      },
    });
    const outcomes = await Promise.allSettled([1, 13, 3].map((n) => batcher.run(n)));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error("13 is unlucky"));
    expect(batches).toEqual([[1, 13, 3], [1], [13], [3]]);
  });

  it("rejects when a batch returns the wrong number of results", async () => {
    const batcher = createBatcher({ maxBatch: 100, maxDelayMs: 0, runBatch: async () => [] as number[] });
    await expect(batcher.run(1)).rejects.toThrow("a batch of 1 returned 0 results");
  });

  it("flush() runs what is pending at once and waits for it", async () => {
    const r = recording();
    const batcher = createBatcher({ maxBatch: 100, maxDelayMs: 60_000, runBatch: r.runBatch });
    const pending = batcher.run(5);
    await batcher.flush();
    expect(r.batches).toEqual([[5]]);
    await expect(pending).resolves.toBe(10);
  });
});
