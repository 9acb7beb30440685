import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../../src/", import.meta.url));
const sources = readdirSync(SRC, { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".ts") && !path.startsWith("db/generated"))
  .map((path) => ({ path, text: readFileSync(join(SRC, path), "utf8") }));

describe("tracing off costs no OpenTelemetry import", () => {
  it("imports @opentelemetry only in src/tracing/otel.ts", () => {
    const importing = sources.filter(({ text }) =>
      /from "@opentelemetry\/|import\("@opentelemetry\//.test(text),
    );
    expect(importing.map((s) => s.path)).toEqual(["tracing/otel.ts"]);
  });

  it("loads src/tracing/otel.ts only with a dynamic import, once tracing is asked for", () => {
    const referring = sources.filter(({ text }) => text.includes("otel.ts"));
    expect(referring.map((s) => s.path)).toEqual(["tracing/tracing.ts"]);
    const tracing = referring[0]!.text;
    expect(tracing).not.toMatch(/^import .*otel\.ts/m);
    expect(tracing).toMatch(/await import\("\.\/otel\.ts"\)/);
  });
});
