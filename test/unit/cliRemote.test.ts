import { describe, expect, it } from "vitest";
import { parseTime, progressLine } from "../../src/cli/replay.ts";
import { UsageError } from "../../src/cli/usageError.ts";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const replay = { id: "rpl_1", total: 0, enqueued: 0, delivered: 0, failed: 0, error: null };

describe("hookpost replay's times", () => {
  it("takes ISO 8601, `now`, or an age counted back from now", () => {
    expect(parseTime("2026-02-28T10:00:00+01:00", NOW)).toBe("2026-02-28T09:00:00.000Z");
    expect(parseTime("now", NOW)).toBe("2026-03-01T12:00:00.000Z");
    expect(parseTime("90m", NOW)).toBe("2026-03-01T10:30:00.000Z");
    expect(parseTime("3d", NOW)).toBe("2026-02-26T12:00:00.000Z");
  });

  it("refuses anything else as a usage mistake", () => {
    expect(() => parseTime("yesterday", NOW)).toThrow(UsageError);
  });
});

describe("hookpost replay's progress line", () => {
  it("fills the bar with the deliveries that finished, succeeded or failed", () => {
    expect(progressLine({ ...replay, status: "QUEUED" })).toBe(
      `QUEUED    [${"-".repeat(30)}] 0/0 delivered 0 failed 0`,
    );
    expect(progressLine({ ...replay, status: "RUNNING", total: 60, delivered: 25, failed: 5 })).toBe(
      `RUNNING   [${"#".repeat(15)}${"-".repeat(15)}] 30/60 delivered 25 failed 5`,
    );
    expect(progressLine({ ...replay, status: "COMPLETED" })).toBe(
      `COMPLETED [${"#".repeat(30)}] 0/0 delivered 0 failed 0`,
    );
    expect(progressLine({ ...replay, status: "FAILED", total: 4, error: "database down" })).toBe(
      `FAILED    [${"-".repeat(30)}] 0/4 delivered 0 failed 0 error: database down`,
    );
  });
});
