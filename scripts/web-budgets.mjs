// The portal's budgets, measured: `npm run web:budgets` (needs PostgreSQL, Redis and /usr/bin/chromium).
//  1. First-load JavaScript: the entry script and its preloaded chunks, gzipped, at most 200 KB.
//  2. The live feed keeps the page responsive at 1,000 attempts/s: a Hookpost api in this process,
//     the portal in Chromium on its live feed, and this script publishing synthetic attempts to the
//     live channel as workers do; every long task (PerformanceObserver "longtask") stays under 100 ms.
// Run with tsx (the npm script does): it reuses the test support and the live benchmark's attempts.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import { syntheticAttempt } from "../bench/live.ts";
import { createLivePubSub } from "../src/pubsub/pubsub.ts";
import { launchChromium, portalUrlOf, signInWithApiKey } from "../test/support/browser.ts";
import { startTestHookpost } from "../test/support/hookpost.ts";
import { waitFor } from "../test/support/wait.ts";
import { buildWeb, WEB_DIST } from "./build-web.mjs";

const FIRST_LOAD_JS_BUDGET_KB = 200;
const LONG_TASK_BUDGET_MS = 100;
const RATE_PER_S = 1_000;
const SECONDS = Number(process.env.WEB_BUDGET_SECONDS ?? 15);
const TICK_MS = 20;

async function firstLoadJsGzippedKb() {
  const html = await readFile(join(WEB_DIST, "index.html"), "utf8").catch(async () => {
    await buildWeb();
    return readFile(join(WEB_DIST, "index.html"), "utf8");
  });
  const scripts = [
    ...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"|<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+)"/g),
  ];
  let bytes = 0;
  for (const match of scripts) bytes += gzipSync(await readFile(join(WEB_DIST, match[1] ?? match[2]))).length;
  return bytes / 1024;
}

async function liveFeedLongTasks() {
  const hookpost = await startTestHookpost({ roles: ["api"] });
  const publisher = new Redis(hookpost.config.redis.url);
  const listener = new Redis(hookpost.config.redis.url);
  const pubsub = createLivePubSub(hookpost.config, publisher, listener);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(90_000);
    await page.addInitScript(() => {
      globalThis.longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) globalThis.longTasks.push(entry.duration);
      }).observe({ type: "longtask" });
    });
    const subscribed = new Promise((resolve) =>
      page.on("websocket", (ws) =>
        ws.on("framesent", (frame) => String(frame.payload).includes("PortalLiveAttempts") && resolve()),
      ),
    );
    await signInWithApiKey(page, portalUrlOf(hookpost.url), hookpost.workspace.apiKey);
    await page.getByRole("link", { name: "Live feed" }).click();
    await subscribed;
    // Long tasks of loading and signing in are not the feed's.
    await page.evaluate(() => {
      globalThis.longTasks = [];
    });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const busySeconds = async () =>
      (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
    const busyBefore = await busySeconds();
    const total = RATE_PER_S * SECONDS;
    const start = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE_PER_S));
      for (; sent < due; sent++)
        pubsub.publish(
          "delivery-attempt",
          hookpost.workspace.id,
          syntheticAttempt(hookpost.workspace.id, sent),
        );
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    const publishSeconds = (performance.now() - start) / 1000;
    const mainThreadBusyPercent = Math.round((100 * ((await busySeconds()) - busyBefore)) / publishSeconds);
    const received = () => page.getByTestId("live-received").getAttribute("data-received").then(Number);
    await waitFor(
      async () => (await received()) >= total,
      `the page to show ${total} attempts`,
      60_000,
    ).catch(() => undefined);
    const longTasks = await page.evaluate(() => globalThis.longTasks);
    return {
      attemptsPublished: total,
      attemptsPerS: Math.round(total / publishSeconds),
      attemptsReceivedByPage: await received(),
      mainThreadBusyPercent,
      longTasks: longTasks.length,
      longestTaskMs: Math.round(Math.max(0, ...longTasks)),
    };
  } finally {
    await browser.close();
    publisher.disconnect();
    listener.disconnect();
    await hookpost.stop();
  }
}

const firstLoadKb = await firstLoadJsGzippedKb();
const live = await liveFeedLongTasks();
const result = { firstLoadJsGzippedKb: Math.round(firstLoadKb * 10) / 10, ...live };
console.log(JSON.stringify(result, null, 2));
const failures = [
  firstLoadKb > FIRST_LOAD_JS_BUDGET_KB &&
    `first-load JS ${result.firstLoadJsGzippedKb} KB > ${FIRST_LOAD_JS_BUDGET_KB} KB`,
  live.longestTaskMs >= LONG_TASK_BUDGET_MS &&
    `a long task of ${live.longestTaskMs} ms (budget < ${LONG_TASK_BUDGET_MS} ms)`,
  live.attemptsReceivedByPage < live.attemptsPublished &&
    `the page showed ${live.attemptsReceivedByPage} of ${live.attemptsPublished} attempts`,
].filter(Boolean);
for (const failure of failures) console.error(`over budget: ${failure}`);
process.exit(failures.length ? 1 : 0);
