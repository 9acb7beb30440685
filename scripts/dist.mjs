// What dist/ holds and whether it is current: shared by the build (scripts/build.mjs), which
// records the sources it built from, and by bin/hookpost.js, which refuses to run a stale build.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
export const BUNDLE = join(DIST, "hookpost.mjs");
/** What the bundle was built from: see sourceFingerprint. */
export const BUILT_FROM = join(DIST, "hookpost.source");
const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const ENTRY = join(SRC, "cli.ts");
/** What the build steps of scripts/build.mjs read: a step that reads another folder adds it here. */
const SOURCES = [SRC, fileURLToPath(new URL("./build.mjs", import.meta.url))];

/** A hash of every source file's path, size and modification time: any edit, new or deleted file changes it. */
export async function sourceFingerprint() {
  const hash = createHash("sha256");
  for (const root of SOURCES) {
    const info = await stat(root);
    const paths = info.isDirectory()
      ? (await readdir(root, { recursive: true })).sort().map((name) => join(root, name))
      : [root];
    const stats = await Promise.all(paths.map((path) => stat(path)));
    paths.forEach((path, i) => {
      hash.update(`${path}\0${stats[i].size}\0${stats[i].mtimeMs}\n`);
    });
  }
  return hash.digest("hex");
}

/** Whether dist/ was built from the sources as they are now. */
export async function isCurrent() {
  const [built, now] = await Promise.all([readFile(BUILT_FROM, "utf8").catch(() => ""), sourceFingerprint()]);
  return built === now;
}

/**
 * Why dist/ cannot be run, or null. An install without the sources (a
 * container image holding only the build) is taken as built.
 */
export async function distProblem() {
  if (!existsSync(BUNDLE)) return "dist/ is missing";
  if (!existsSync(ENTRY)) return null;
  return (await isCurrent()) ? null : "dist/ is older than src/";
}
