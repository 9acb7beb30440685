import { freshBundle } from "../../scripts/build.mjs";

/** Vitest global setup: dist/ as `npm run build` makes it, since bin/hookpost.js never builds. */
export default async function buildOnce(): Promise<void> {
  await freshBundle();
}
