import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GRAPHQL_SERIES } from "../../../src/http/graphqlMetrics.ts";
import { registry } from "../../../src/metrics.ts";

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");

/** Hookpost's own series (the GraphQL ones register once a yoga using the plugin starts). */
function hookpostSeries(): string[] {
  const own = registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((name) => name.startsWith("hookpost_"));
  return [...own, ...Object.values(GRAPHQL_SERIES)].sort();
}

/** The series a text names, histogram suffixes taken off. */
const namedIn = (text: string) =>
  new Set([...text.matchAll(/hookpost_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, "")));

describe("every metric series", () => {
  it("follows Prometheus naming: hookpost_ prefix, counters in _total, durations in _seconds", () => {
    const metrics = registry.getMetricsAsArray().filter((m) => m.name.startsWith("hookpost_"));
    expect(metrics.length).toBeGreaterThan(15);
    for (const metric of metrics) {
      const { type } = metric as unknown as { type: string };
      if (type === "counter") expect(metric.name).toMatch(/_total$/);
      if (type === "histogram") expect(metric.name).toMatch(/_seconds$/);
    }
  });

  it("is described in docs/observability.md and drawn in deploy/grafana/hookpost.json, which name no other", () => {
    const series = hookpostSeries();
    const docs = namedIn(read("docs/observability.md"));
    const dashboard = namedIn(read("deploy/grafana/hookpost.json"));
    for (const name of series) {
      expect(docs.has(name), `${name} in the docs`).toBe(true);
      expect(dashboard.has(name), `${name} on the dashboard`).toBe(true);
    }
    expect([...dashboard].filter((name) => !series.includes(name))).toEqual([]);
    expect([...docs].filter((name) => !series.includes(name))).toEqual([]);
  });
});
