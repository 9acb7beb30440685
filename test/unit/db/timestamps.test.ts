import { describe, expect, it } from "vitest";
import { parseUtcTimestamp } from "../../../src/db/timestamps.ts";

/** The ISO way the fast path stands in for: PostgreSQL's text as a UTC time. */
const isoWay = (text: string) => new Date(`${text.replace(" ", "T")}Z`);

describe("parseUtcTimestamp", () => {
  it("reads every fraction length PostgreSQL prints as the ISO parser does", () => {
    for (const text of [
      "2026-11-24 19:38:23",
      "2026-11-24 19:38:23.1",
      "2026-11-24 19:38:23.12",
      "2026-11-24 19:38:23.123",
      "2026-11-24 19:38:23.1234",
      "2026-11-24 19:38:23.999999",
      "2024-02-29 00:00:00.001",
      "1970-01-01 00:00:00",
      "0099-12-31 23:59:59.5",
    ]) {
      expect(parseUtcTimestamp(text).toISOString(), text).toBe(isoWay(text).toISOString());
    }
    expect(parseUtcTimestamp("2026-11-24 19:38:23.123").toISOString()).toBe("2026-11-24T19:38:23.123Z");
  });

  it("leaves other shapes to the ISO parser", () => {
    for (const text of ["2026-11-24 19:38:23 BC", "infinity", "-infinity", "12026-11-24 19:38:23"]) {
      const expected = isoWay(text);
      const parsed = parseUtcTimestamp(text);
      expect(Number.isNaN(parsed.getTime()) ? "invalid" : parsed.toISOString(), text).toBe(
        Number.isNaN(expected.getTime()) ? "invalid" : expected.toISOString(),
      );
    }
  });
});
