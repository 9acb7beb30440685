import { round } from "./workload.ts";

/** One scenario's figures: one line of output, one entry of the results file. */
export type Row = {
  scenario: string;
  /** Requests or deliveries measured. */
  count: number;
  seconds?: number;
  perSecond?: number;
  /** perSecond ÷ the ceiling R measured in the same run. */
  ofCeiling?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Scenario-specific figures, units in their names. */
  detail: Record<string, number | string>;
};

export type TargetCheck = { target: string; value: string; met: boolean | null };

const pct = (fraction: number | undefined) => (fraction === undefined ? "" : `${round(fraction * 100, 1)}%`);
const num = (value: number | undefined, digits = 0) =>
  value === undefined ? "" : String(round(value, digits));

/** One row as a single progress-friendly line. */
export function rowLine(row: Row): string {
  const parts = [
    `${row.count}${row.seconds === undefined ? "" : ` in ${num(row.seconds, 2)} s`}${row.perSecond === undefined ? "" : ` = ${num(row.perSecond)}/s`}`,
    row.ofCeiling !== undefined ? `${pct(row.ofCeiling)} of R` : "",
    row.p50Ms !== undefined ? `p50 ${num(row.p50Ms, 1)} ms p99 ${num(row.p99Ms, 1)} ms` : "",
    detailText(row.detail),
  ];
  return `${row.scenario}: ${parts.filter(Boolean).join(" · ")}`;
}

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    "| scenario | count | per s | of R | p50 ms | p99 ms | detail |",
    "|---|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.count} | ${num(r.perSecond)} | ${pct(r.ofCeiling)} | ${num(r.p50Ms, 1)} | ${num(r.p99Ms, 1)} | ${detailText(r.detail)} |`,
    ),
  ];
  return lines.join("\n");
}

function detailText(detail: Row["detail"]): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === "number" ? round(v, 2) : v}`)
    .join(", ");
}

/** The issue's targets, judged from this run's rows (null: not measured in this run). */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const find = (scenario: string) => rows.find((r) => r.scenario === scenario);
  const e2e = find("e2e");
  const latency = find("e2e-latency");
  const fanout = find("fanout");
  const mix = find("failing-mix");
  const soak = find("soak");
  const inbound = find("inbound");
  const inboundShare = inbound?.detail.ofPublishEvents as number | undefined;
  const enqueue = fanout?.detail.enqueuedPerS as number | undefined;
  const cost = mix?.detail.healthyCost as number | undefined;
  const growth = soak?.detail.rssGrowth as number | undefined;
  return [
    { target: "e2e ≥ 30% of R", value: pct(e2e?.ofCeiling), met: e2e ? e2e.ofCeiling! >= 0.3 : null },
    {
      target: "p99 ≤ 50 ms at half rate",
      value: `${num(latency?.p99Ms, 1)} ms`,
      met: latency ? latency.p99Ms! <= 50 : null,
    },
    {
      target: "fanout enqueue ≥ 10k deliveries/s",
      value: `${num(enqueue)} deliveries/s`,
      met: enqueue === undefined ? null : enqueue >= 10_000,
    },
    {
      target: "failing-mix costs healthy ≤ 10%",
      value: pct(cost),
      met: cost === undefined ? null : cost <= 0.1,
    },
    {
      target: "worker RSS flat under steady load (≤ 10% growth)",
      value: `${pct(growth)} over ${num(soak?.seconds)} s`,
      met: growth === undefined ? null : growth <= 0.1,
    },
    {
      target: "inbound ingest within 20% of publishEvents",
      value: `${pct(inboundShare)} of publishEvents`,
      met: inboundShare === undefined ? null : inboundShare >= 0.8,
    },
  ];
}

export function targetsText(checks: readonly TargetCheck[]): string {
  return checks
    .map((c) => `- ${c.met === null ? "–" : c.met ? "✓" : "✗"} ${c.target}: ${c.value}`)
    .join("\n");
}
