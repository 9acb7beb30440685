import type { Row } from "../report.ts";
import { quantile } from "../workload.ts";
import type { BenchContext } from "./context.ts";
import { latencyAt } from "./e2e.ts";

/**
 * Steady open-loop load at half the maximum rate for `seconds`, watching the
 * worker's memory: RSS growth from the end of the first quarter (warm caches,
 * full pools) to the end says whether it is flat.
 */
export async function soak(ctx: BenchContext, ratePerS: number, seconds: number): Promise<Row> {
  const from = ctx.workerRss.samples.length;
  const row = await latencyAt(ctx, ratePerS, seconds, "soak");
  const window = ctx.workerRss.samples.slice(from).map((s) => s.mb);
  const quarter = window.slice(0, Math.max(1, Math.floor(window.length / 4)));
  const lastTenth = window.slice(-Math.max(1, Math.floor(window.length / 10)));
  const settledMb = Math.max(...quarter);
  const endMb = quantile(lastTenth, 0.5);
  return {
    ...row,
    detail: {
      ...row.detail,
      rssSettledMb: settledMb,
      rssPeakMb: Math.max(...window),
      rssEndMb: endMb,
      rssGrowth: endMb / settledMb - 1,
    },
  };
}
