import type { ScenarioResult } from "./tally.ts";

const COLUMNS = ["scenario", "published", "delivered", "lost", "duplicated", "allowed", "endpoint", "result"];

/** One scenario's figures as a table row's cells. */
function cells(r: ScenarioResult): string[] {
  const endpoint = r.endpoint.enabled ? "enabled" : `disabled (${r.endpoint.disabledReason ?? "no reason"})`;
  const result = r.passed ? "pass" : `FAIL: ${r.failures.join("; ")}`;
  const figures = [r.published, r.delivered, r.lost, r.duplicated, r.duplicatesAllowed].map(String);
  return [r.scenario, ...figures, endpoint, result];
}

/** A scenario's result in one line, printed as soon as it finishes. */
export function resultLine(r: ScenarioResult): string {
  return cells(r)
    .map((cell, i) => `${COLUMNS[i]} ${cell}`)
    .join(" · ");
}

/** Every scenario's result as a markdown table. */
export function resultsTable(results: readonly ScenarioResult[]): string {
  const row = (values: readonly string[]) => `| ${values.join(" | ")} |`;
  return [row(COLUMNS), row(COLUMNS.map(() => "---")), ...results.map((r) => row(cells(r)))].join("\n");
}
