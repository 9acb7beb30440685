import { describe, expect, it } from "vitest";
import { msPerAnswer, recordAnswer, startPace } from "../../../src/backpressure/answerPace.ts";

describe("answerPace", () => {
  it("measures its first window from the first answer, not from the opening of its connections", () => {
    const pace = startPace(0);
    expect(msPerAnswer(pace, 150)).toBeNull();
    // Connections took 200 ms; then 32 answers at once, and one every 5 ms after.
    for (let i = 0; i < 32; i++) recordAnswer(pace, 200);
    for (let t = 205; t <= 360; t += 5) recordAnswer(pace, t);
    expect(msPerAnswer(pace, 360)).toBeCloseTo(160 / 64, 5);
    // A whole window later, every answer of the first counts, over the whole second.
    expect(msPerAnswer(pace, 1_000)).toBeCloseTo(1_000 / 64, 5);
  });

  it("is not thrown off by a stall followed by a burst: one long gap weighs as one gap", () => {
    const pace = startPace(0);
    // Every 5 ms for 1.5 s, then nothing for 300 ms, then the 60 answers held up, at once.
    for (let t = 5; t <= 1_500; t += 5) recordAnswer(pace, t);
    for (let i = 0; i < 60; i++) recordAnswer(pace, 1_800);
    expect(msPerAnswer(pace, 1_800)).toBeLessThan(6);
  });

  it("slows as answers thin out, and forgets a window gone by", () => {
    const pace = startPace(0);
    for (let t = 2.5; t < 1_000; t += 5) recordAnswer(pace, t); // 200 in the first window
    recordAnswer(pace, 1_500); // one in the second, half way through it
    // Half of the first window's 200 still counts, with the one: 101 answers a second.
    expect(msPerAnswer(pace, 1_500)).toBeCloseTo(1_000 / 101, 5);
    recordAnswer(pace, 3_500); // the second window is gone; the third has one, half way through
    expect(msPerAnswer(pace, 3_500)).toBeCloseTo(1_000 / 1, 5);
    expect(pace.answeredAt).toBe(3_500);
  });
});
