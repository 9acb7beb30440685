// Builds dist/ once, at `npm install` (postinstall) or `npm run build`; `hookpost` never builds
// (bin/hookpost.js refuses a missing or stale dist/). Each entry of STEPS builds one part of
// dist/; the last line records the sources they were built from.
//
// The server: the CLI and everything it imports from src/, bundled into dist/hookpost.mjs
// (packages stay in node_modules), so production runs plain JavaScript with no TypeScript
// loader in the process. What a role loads lazily (the api's server, schema and GraphiQL)
// goes to chunks of its own, so a worker never loads it: with one file, esbuild would
// hoist those packages' imports to the top and every process would load them.
import { randomBytes as randomSuffix } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildWeb } from "./build-web.mjs";
import { BUILT_FROM, BUNDLE, DIST, isCurrent, sourceFingerprint } from "./dist.mjs";

export { BUNDLE };

const CHUNKS = join(DIST, "chunks");
/** A process started from an older build may still load its chunks; they go once it has surely loaded them. */
const STALE_CHUNK_MS = 3_600_000;

/** Writes esbuild's output files, each beside and renamed into place: a process starting meanwhile never reads half a file. */
async function writeAtomically(files, entry) {
  // Chunks (content-named) and maps go before the entry that points at them.
  const rank = (path) => (path === entry ? 2 : path.endsWith(".map") ? 0 : 1);
  const ordered = [...files].sort((a, b) => rank(a.path) - rank(b.path));
  for (const file of ordered) {
    const temporary = `${file.path}.${randomSuffix(4).toString("hex")}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
  return ordered.map((file) => file.path);
}

/** dist/hookpost.mjs and its chunks, from src/cli.ts. */
async function buildServer() {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: { hookpost: fileURLToPath(new URL("../src/cli.ts", import.meta.url)) },
    outdir: DIST,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    write: false,
    logLevel: "warning",
  });
  await mkdir(CHUNKS, { recursive: true });
  const written = await writeAtomically(result.outputFiles, BUNDLE);
  await pruneChunks(new Set(written));
  return [BUNDLE];
}

/** Each step builds one part of dist/ and returns the main files it wrote. */
const STEPS = [buildServer];

/** Builds every part of dist/ and returns the server bundle. */
export async function buildHookpost() {
  const fingerprint = await sourceFingerprint();
  const written = [];
  for (const step of STEPS) written.push(...(await step()));
  await writeFile(BUILT_FROM, fingerprint);
  return { bundle: BUNDLE, written };
}

/** The server bundle, built first unless it was built from the sources as they are now (for tests and benchmarks). */
export async function freshBundle() {
  return (await isCurrent()) ? BUNDLE : (await buildHookpost()).bundle;
}

/** Removes chunks of earlier builds (and stray temporary files) once they are an hour old. */
async function pruneChunks(current) {
  for (const name of await readdir(CHUNKS)) {
    const path = join(CHUNKS, name);
    if (current.has(path)) continue;
    const info = await stat(path).catch(() => null);
    if (info && Date.now() - info.mtimeMs > STALE_CHUNK_MS) await rm(path, { force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // An install without dev dependencies (`npm install --omit=dev`) has no bundler: it runs a dist/ built elsewhere.
  if (!existsSync(fileURLToPath(new URL("../node_modules/esbuild", import.meta.url)))) {
    console.log("esbuild is not installed (dev dependencies omitted): dist/ not built");
    process.exit(0);
  }
  const { written } = await buildHookpost();
  const root = fileURLToPath(new URL("..", import.meta.url));
  process.stdout.write(`built ${written.map((path) => relative(root, path)).join(", ")}\n`);
  // The portal is a build of its own (web/ → web/dist, which the api serves at `/`), outside dist/'s fingerprint.
  if (existsSync(fileURLToPath(new URL("../node_modules/vite", import.meta.url)))) {
    await buildWeb();
    process.stdout.write("built web/dist\n");
  }
}
