import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { chromium, type Page } from "playwright-core";

/** The Debian Chromium (`apt-get install chromium`); nothing here downloads a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const chromiumMissing = !existsSync(CHROMIUM_PATH);

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage", "--disable-gpu"],
  });
}

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | undefined;

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: unknown }[] };

/** Runs axe-core in the page and returns its serious and critical violations. */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  if (!(await page.evaluate("typeof axe !== 'undefined'")))
    await page.addScriptTag({ content: await axeSource });
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as AxeViolation[];
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
}

/** The portal's address: the api serves it at `/`, beside /graphql. */
export const portalUrlOf = (apiUrl: string) => apiUrl.replace(/graphql$/, "");

/** Signs in on the sign-in page with an API key. */
export async function signInWithApiKey(page: Page, portalUrl: string, apiKey: string) {
  await page.goto(portalUrl);
  await page.getByLabel("API key").fill(apiKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}
