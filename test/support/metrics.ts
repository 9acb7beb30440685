import type { TestHookpost } from "./hookpost.ts";

/** The Prometheus text of the test process's /metrics. */
export async function scrape(hp: TestHookpost): Promise<string> {
  return (await fetch(hp.url.replace(/\/graphql$/, "/metrics"))).text();
}

/**
 * The value of one sample in Prometheus text, its labels given exactly as
 * rendered (`outcome="2xx"`); NaN when there is no such sample.
 */
export function sampleOf(text: string, name: string, labels = ""): number {
  const escaped = `${name}${labels ? `{${labels}}` : ""}`.replace(/[{}.*+?^$()|[\]\\]/g, "\\$&");
  return Number(new RegExp(`^${escaped} (\\S+)$`, "m").exec(text)?.[1]);
}

/** One of the test process's plain counters (no labels), from its /metrics. */
export async function counterOf(hp: TestHookpost, name: string): Promise<number> {
  return sampleOf(await scrape(hp), name);
}
