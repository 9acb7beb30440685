import type { TestHookpost } from "./hookpost.ts";

/** One of the test process's plain counters (no labels), from its /metrics. */
export async function counterOf(hp: TestHookpost, name: string): Promise<number> {
  const text = await (await fetch(hp.url.replace(/\/graphql$/, "/metrics"))).text();
  return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
}
