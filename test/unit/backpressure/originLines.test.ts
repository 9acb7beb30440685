import { describe, expect, it } from "vitest";
import { createOriginLines } from "../../../src/backpressure/originLines.ts";

const SLOW = "http://slow.test:8080";
const FAST = "http://fast.test:8080";
/** The endpoint of every delivery that joins a line here, unless a test says otherwise. */
const EP = "ep_1";
const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Lines over a fake sender: `saturated` holds the origins whose connections
 * are all busy; `held` records each call to hold.
 */
function linesOver(opts: { maxWaiting?: number; holdEveryMs?: number; startsAtOnce?: number } = {}) {
  const saturated = new Set<string>();
  const started: string[] = [];
  const held: string[][] = [];
  /** Ends the attempt of a started delivery. */
  const endOf = new Map<string, () => void>();
  const lines = createOriginLines({
    isSaturated: (url) => saturated.has(new URL(url).origin),
    maxWaiting: opts.maxWaiting ?? 100,
    startsAtOnce: opts.startsAtOnce ?? 1,
    holdEveryMs: opts.holdEveryMs ?? 60_000,
    async hold(deliveryIds) {
      held.push(deliveryIds);
    },
    start(deliveryId) {
      started.push(deliveryId);
      return new Promise<void>((resolve) => endOf.set(deliveryId, resolve));
    },
  });
  return { lines, saturated, started, held, end: (id: string) => endOf.get(id)!() };
}

describe("createOriginLines", () => {
  it("admits an origin while it is not saturated", () => {
    const { lines, saturated } = linesOver();
    expect(lines.admits(`${SLOW}/hook`, "d1")).toBe(true);
    saturated.add(SLOW);
    expect(lines.admits(`${SLOW}/hook`, "d1")).toBe(false);
    expect(lines.admits(`${FAST}/hook`, "d2")).toBe(true);
  });

  it("starts waiting deliveries one at a time, first come first served, once their origin has a free connection", async () => {
    const { lines, saturated, started, end } = linesOver();
    saturated.add(SLOW);
    for (const id of ["d1", "d2", "d3"]) expect(lines.join(`${SLOW}/hook`, id, Date.now(), EP)).toBe(true);
    expect(lines.join(`${SLOW}/other`, "d2", Date.now(), EP)).toBe(true); // already waiting: not twice
    expect(lines.waiting).toBe(3);
    // A connection is free: a newcomer is admitted though others wait (they start as well).
    saturated.delete(SLOW);
    expect(lines.admits(`${SLOW}/hook`, "d9")).toBe(true);

    lines.pump();
    lines.pump(); // one starting per origin: d2 waits until d1 has its connection
    expect(started).toEqual(["d1"]);
    expect(lines.admits(`${SLOW}/hook`, "d1")).toBe(true);
    await tick();
    expect(started).toEqual(["d1", "d2"]);

    // The origin is saturated again: d2 is refused (it goes back in line), d3 waits.
    saturated.add(SLOW);
    expect(lines.admits(`${SLOW}/hook`, "d2")).toBe(false);
    expect(lines.join(`${SLOW}/hook`, "d2", Date.now(), EP)).toBe(true);
    end("d2");
    await tick();
    expect(started).toEqual(["d1", "d2"]);
    expect(lines.waiting).toBe(2);

    // A connection comes free: the next in line starts.
    saturated.delete(SLOW);
    lines.pump();
    expect(started).toEqual(["d1", "d2", "d3"]);
    end("d3"); // ended without being admitted (settled meanwhile): the next one starts
    await tick();
    expect(started).toEqual(["d1", "d2", "d3", "d2"]);
    expect(lines.waiting).toBe(0);
  });

  it("starts up to startsAtOnce of a line at once, and the next as each is admitted", async () => {
    const { lines, saturated, started } = linesOver({ startsAtOnce: 3 });
    saturated.add(SLOW);
    const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
    for (const id of ids) lines.join(`${SLOW}/hook`, id, Date.now(), EP);
    lines.join(`${FAST}/hook`, "f0", Date.now(), EP);
    saturated.delete(SLOW);
    lines.pump();
    // Three of the slow origin's line, and the other origin's own.
    expect(started).toEqual(["d0", "d1", "d2", "f0"]);
    lines.pump();
    expect(started).toHaveLength(4);

    // Each admission makes room for the next in line.
    expect(lines.admits(`${SLOW}/hook`, "d0")).toBe(true);
    expect(lines.admits(`${SLOW}/hook`, "d1")).toBe(true);
    await tick();
    expect(started).toEqual(["d0", "d1", "d2", "f0", "d3", "d4"]);

    // Saturated again: nothing more starts, however many are admitted or end.
    saturated.add(SLOW);
    expect(lines.admits(`${SLOW}/hook`, "d2")).toBe(false);
    expect(lines.join(`${SLOW}/hook`, "d2", Date.now(), EP)).toBe(true);
    await tick();
    expect(started).toHaveLength(6);
    expect(lines.waiting).toBe(4);
    lines.close();
  });

  it("looks at a waiting origin again on its own, with no attempt ending to wake it", async () => {
    const { lines, saturated, started } = linesOver();
    saturated.add(SLOW);
    lines.join(`${SLOW}/hook`, "d1", Date.now(), EP);
    saturated.delete(SLOW);
    await sleep(400);
    expect(started).toEqual(["d1"]);
  });

  it("holds a delivery once it has been due for holdEveryMs, at once if it joins that late, never one that has left", async () => {
    const { lines, saturated, held } = linesOver({ holdEveryMs: 1_000 });
    saturated.add(SLOW);
    const joinedAt = Date.now();
    lines.join(`${SLOW}/hook`, "d1", joinedAt, EP);
    lines.join(`${SLOW}/hook`, "d2", joinedAt - 1_000, EP);
    lines.join(`${SLOW}/hook`, "d3", joinedAt, EP);
    expect(lines.has("d1")).toBe(true);
    await sleep(350);
    // Only d2 was due long enough ago for the sweeper to come near it.
    expect(held).toEqual([["d2"]]);

    // d1 starts and leaves the line before it has been due for 1 s; d3 is held
    // once it has been, and d2 again 1 s after its hold.
    saturated.delete(SLOW);
    lines.pump();
    saturated.add(SLOW);
    expect(lines.has("d1")).toBe(false);
    await sleep(1_800);
    const again = held.slice(1).flat();
    expect(again).toContain("d2");
    expect(again).toContain("d3");
    expect(again).not.toContain("d1");
    lines.close();
  });

  it("takes an endpoint's deliveries out of their lines unstarted, leaving other endpoints' in the same line", async () => {
    const { lines, saturated, started, held } = linesOver({ startsAtOnce: 10, holdEveryMs: 40 });
    saturated.add(SLOW).add(FAST);
    const longAgo = Date.now() - 60_000;
    lines.join(`${SLOW}/a`, "a1", longAgo, "ep_a");
    lines.join(`${SLOW}/b`, "b1", longAgo, "ep_b");
    lines.join(`${SLOW}/a`, "a2", longAgo, "ep_a");
    lines.join(`${FAST}/a`, "a3", longAgo, "ep_a");

    expect(lines.dropEndpoint("ep_a")).toBe(3);
    expect(lines.dropEndpoint("ep_a")).toBe(0);
    expect(lines.waiting).toBe(1);
    expect(["a1", "a2", "a3", "b1"].map((id) => lines.has(id))).toEqual([false, false, false, true]);
    // Not held either, though all four were due long ago when they joined.
    while (held.length === 0) await sleep(20);
    expect(new Set(held.flat())).toEqual(new Set(["b1"]));

    saturated.clear();
    lines.pump();
    expect(started).toEqual(["b1"]);
    lines.close();
  });

  it("refuses deliveries beyond maxWaiting, and hands back every waiting one on close", () => {
    const { lines, saturated, started } = linesOver({ maxWaiting: 2 });
    saturated.add(SLOW).add(FAST);
    expect(lines.join(`${SLOW}/a`, "d1", Date.now(), EP)).toBe(true);
    expect(lines.join(`${FAST}/b`, "d2", Date.now(), EP)).toBe(true);
    expect(lines.join(`${SLOW}/a`, "d3", Date.now(), EP)).toBe(false);
    expect(lines.join("not a url", "d4", Date.now(), EP)).toBe(false);

    expect(lines.close().sort()).toEqual(["d1", "d2"]);
    expect(lines.waiting).toBe(0);
    expect(lines.join(`${SLOW}/a`, "d5", Date.now(), EP)).toBe(false);
    saturated.clear();
    lines.pump();
    expect(started).toEqual([]);
  });
});
