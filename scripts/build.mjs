// Bundles the CLI and everything it imports from src/ into dist/hookpost.mjs
// (packages stay in node_modules), so production runs plain JavaScript: no
// TypeScript loader in the process, which starts faster and uses about 70 MB
// less memory. `hookpost` builds only when src/ changed since the last build
// (freshBundle), so a command that answers at once (`help`) does.
//
// What a role loads lazily (the api's server, schema and GraphiQL) goes to
// chunks of its own, so a worker never loads it: with one file, esbuild would
// hoist those packages' imports to the top and every process would load them.
import { createHash, randomBytes as randomSuffix } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildWeb } from "./build-web.mjs";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const CHUNKS = join(DIST, "chunks");
export const BUNDLE = join(DIST, "hookpost.mjs");
/** What the bundle was built from: see sourceFingerprint. */
const BUILT_FROM = join(DIST, "hookpost.source");
const SOURCES = [fileURLToPath(new URL("../src/", import.meta.url)), fileURLToPath(import.meta.url)];
/** A process started from an older build may still load its chunks; they go once it has surely loaded them. */
const STALE_CHUNK_MS = 3_600_000;

export async function buildHookpost() {
  const fingerprint = await sourceFingerprint();
  // Loaded here, not at the top: a run that needs no build does not pay for loading esbuild.
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
  // Each file is written beside and renamed into place, so a process starting meanwhile never
  // reads half a file; chunks (content-named) and maps go before the entry that points at them.
  const rank = (path) => (path === BUNDLE ? 2 : path.endsWith(".map") ? 0 : 1);
  const files = [...result.outputFiles].sort((a, b) => rank(a.path) - rank(b.path));
  for (const file of files) {
    const temporary = `${file.path}.${randomSuffix(4).toString("hex")}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
  await pruneChunks(new Set(files.map((f) => f.path)));
  await writeFile(BUILT_FROM, fingerprint);
  return BUNDLE;
}

/** The bundle, built first unless it was built from the sources as they are now. */
export async function freshBundle() {
  const [built, now] = await Promise.all([readFile(BUILT_FROM, "utf8").catch(() => ""), sourceFingerprint()]);
  return built === now ? BUNDLE : buildHookpost();
}

/** A hash of every source file's path, size and modification time: any edit, new or deleted file changes it. */
async function sourceFingerprint() {
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
  const bundle = await buildHookpost();
  process.stdout.write(`built dist/${basename(bundle)}\n`);
  // The portal is a separate build (web/ → web/dist) that the api serves at `/`.
  await buildWeb();
  process.stdout.write("built web/dist\n");
}
