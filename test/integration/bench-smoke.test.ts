import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { Row } from "../../bench/report.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** Runs a command in the repo; resolves with its exit code and output. */
function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env: process.env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * A bound for a hung run only: about a minute alone, and over three minutes beside
 * the rest of the suite on a loaded 2-core host.
 */
const BENCH_RUN_TIMEOUT_MS = 600_000;

/** The benchmark in smoke mode, so it never rots: every scenario runs end to end and delivers. */
describe("npm run bench -- --quick", () => {
  const out = join(tmpdir(), `hookpost-bench-${randomBytes(6).toString("hex")}.json`);
  afterAll(async () => {
    await rm(out, { force: true });
  });

  it("runs every scenario against a real api, worker and receiver", {
    timeout: BENCH_RUN_TIMEOUT_MS,
  }, async () => {
    const { code, output } = await run(["--import", "tsx", "bench/run.ts", "--quick", "--out", out]);
    expect(code, output).toBe(0);

    const { rows } = JSON.parse(await readFile(out, "utf8")) as { rows: Row[] };
    const byName = new Map(rows.map((row) => [row.scenario, row]));
    expect([...byName.keys()]).toEqual([
      "ceiling",
      "quiet",
      "single",
      "e2e",
      "failing-mix",
      "e2e-after-mix",
      "e2e-latency",
      "fanout",
      "soak",
      "inbound",
      "worker-rss",
    ]);
    for (const name of [
      "ceiling",
      "single",
      "e2e",
      "e2e-after-mix",
      "e2e-latency",
      "fanout",
      "failing-mix",
      "soak",
      "inbound",
    ]) {
      expect(byName.get(name)!.count, name).toBeGreaterThan(0);
      expect(byName.get(name)!.perSecond, name).toBeGreaterThan(0);
    }
    // Every e2e delivery succeeded once, and its attempt is in the database, in both runs.
    expect(byName.get("e2e")!.detail).toMatchObject({ notSucceeded: 0, duplicates: 0 });
    expect(byName.get("e2e-after-mix")!.detail).toMatchObject({ notSucceeded: 0, duplicates: 0 });
    expect(byName.get("e2e")!.ofCeiling).toBeGreaterThan(0);
    expect(byName.get("e2e-latency")!.p99Ms).toBeGreaterThan(0);
    // Each quiet publish was received, and its cost was measured in every process.
    expect(byName.get("quiet")!.count).toBeGreaterThan(0);
    expect(byName.get("quiet")!.p50Ms).toBeGreaterThan(0);
    expect(byName.get("quiet")!.detail["cpuUs.worker"]).toBeGreaterThan(0);
    expect(byName.get("quiet")!.detail["switches.api"]).toBeGreaterThan(0);
    // One-event publishes were all received, and what each cost the api measured.
    expect(byName.get("single")!.detail["cpuUs.api"]).toBeGreaterThan(0);
    // The failing endpoints were tried, the healthy ones still delivered.
    expect(byName.get("failing-mix")!.detail.failing500).toBeGreaterThan(0);
    expect(byName.get("failing-mix")!.detail.failingHang).toBeGreaterThan(0);
    // Compared with the mean of the e2e runs on either side of it.
    const mix = byName.get("failing-mix")!;
    const e2eMeanPerS = (byName.get("e2e")!.perSecond! + byName.get("e2e-after-mix")!.perSecond!) / 2;
    expect(mix.detail.vsE2e).toBeCloseTo(mix.perSecond! / e2eMeanPerS, 6);
    // Inbound batches were ingested and delivered, next to publishEvents of as many events.
    expect(byName.get("inbound")!.detail.publishEventsPerS).toBeGreaterThan(0);
    expect(byName.get("worker-rss")!.detail.peakMb).toBeGreaterThan(0);
    expect(output).toContain("| scenario |");
  });
});
