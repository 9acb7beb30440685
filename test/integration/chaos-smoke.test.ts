import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { ScenarioResult } from "../../chaos/tally.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** Runs the chaos harness in a child process; resolves with its exit code and output. */
function runChaos(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "chaos/run.ts", ...args], {
      cwd: REPO,
      env: process.env,
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk;
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * `npm run chaos` in quick mode on two scenarios, so the harness never rots:
 * it starts its own Redis and PostgreSQL, injects the faults, counts, writes
 * its results, and its exit code says whether every criterion was met.
 */
describe("npm run chaos -- --quick", () => {
  const out = join(tmpdir(), `hookpost-chaos-${randomBytes(6).toString("hex")}.json`);
  afterAll(async () => {
    await rm(out, { force: true });
    await rm(out.replace(/\.json$/, "-logs"), { recursive: true, force: true });
  });

  it("runs a SIGTERM and a FLUSHALL scenario against real processes and accounts for every event", {
    timeout: 240_000,
  }, async () => {
    const { code, output } = await runChaos(["--quick", "--only", "sigterm,flush", "--out", out]);
    const { results, passed } = JSON.parse(await readFile(out, "utf8")) as {
      results: ScenarioResult[];
      passed: boolean;
    };
    expect(results.map((r) => r.scenario)).toEqual(["sigterm", "flush"]);
    for (const r of results) {
      expect(r.published, r.scenario).toBe(300);
      expect(r.delivered, r.scenario).toBeGreaterThan(0);
      expect(r.delivered + r.lost, r.scenario).toBe(r.published);
      expect(r.faults.map((f) => f.what)).toEqual([r.scenario === "sigterm" ? "SIGTERM worker" : "FLUSHALL"]);
      // The database's figures are the scenario's own: one delivery per event to its one endpoint.
      const deliveries = Object.values(r.deliveries).reduce((sum, n) => sum + n, 0);
      expect(deliveries, r.scenario).toBe(r.published);
      expect(r.passed, r.scenario).toBe(r.failures.length === 0);
    }
    expect(passed).toBe(results.every((r) => r.passed));
    expect(code, output).toBe(passed ? 0 : 1);
    expect(output).toContain("| scenario | published | delivered | lost | duplicated |");
  });
});
