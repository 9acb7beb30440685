import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshBundle } from "../../scripts/build.mjs";

/** `import … from "x"` and `import "x"` at the top of a module; `import("x")` (lazy) does not match. */
const STATIC_IMPORT = /^import\s(?:[^;]*?\sfrom\s*)?"([^"]+)";/gms;

/** The packages a file loads as soon as it is imported, following its static imports of other dist files. */
async function packagesLoadedBy(entry: string): Promise<Set<string>> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = await readFile(file, "utf8");
    for (const [, specifier] of source.matchAll(STATIC_IMPORT)) {
      if (specifier!.startsWith(".")) await visit(resolve(dirname(file), specifier!));
      else packages.add(specifier!);
    }
  };
  await visit(entry);
  return packages;
}

/** The dist files a module imports lazily (`import("./…")`) whose names start with `name-`. */
async function lazyChunks(file: string, name: string): Promise<string[]> {
  const source = await readFile(file, "utf8");
  return [...source.matchAll(/import\("(\.[^"]+)"\)/g)]
    .map(([, specifier]) => resolve(dirname(file), specifier!))
    .filter((path) => basename(path).startsWith(`${name}-`));
}

describe("production bundle", () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await freshBundle();
  });

  it("loads the api's packages only when the api starts, so a worker never holds them", async () => {
    const [main] = await lazyChunks(bundle, "main");
    const worker = new Set([...(await packagesLoadedBy(bundle)), ...(await packagesLoadedBy(main!))]);
    expect(worker).toContain("bullmq");
    expect(worker).toContain("undici");
    for (const apiOnly of ["graphql-yoga", "@pothos/core", "graphql-ws", "@graphql-yoga/render-graphiql"])
      expect(worker, apiOnly).not.toContain(apiOnly);

    const [server] = await lazyChunks(main!, "server");
    const api = await packagesLoadedBy(server!);
    expect(api).toContain("graphql-yoga");
    expect(api).toContain("graphql-ws");
  });

  it("answers `hookpost help` without loading any package, not even the settings' (zod) or the logger", async () => {
    const atStart = [...(await packagesLoadedBy(bundle))];
    expect(atStart.filter((p) => !p.startsWith("node:"))).toEqual([]);
    // What it does load is found: the check is not vacuous.
    expect(atStart).toContain("node:v8");
  });
});

describe("bin/hookpost.js", () => {
  const REPO = new URL("../..", import.meta.url).pathname;
  let install: string;
  /** Runs `hookpost help` in `install`, which has no node_modules: no bundler can be loaded there. */
  const help = () =>
    promisify(execFile)(process.execPath, [join(install, "bin/hookpost.js"), "help"]).then(
      ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  beforeAll(async () => {
    install = await mkdtemp(join(tmpdir(), "hookpost-install-"));
    for (const file of ["bin/hookpost.js", "scripts/dist.mjs", "scripts/build.mjs", "package.json"])
      await cp(join(REPO, file), join(install, file), { recursive: true });
    await mkdir(join(install, "src"));
    await writeFile(join(install, "src/cli.ts"), "");
  });
  afterAll(async () => {
    if (install) await rm(install, { recursive: true, force: true });
  });

  it("never builds: a missing or stale dist/ is refused in one line naming `npm run build`", async () => {
    expect(await help()).toMatchObject({
      code: 1,
      stderr: "hookpost: dist/ is missing; run `npm run build`\n",
    });
    await mkdir(join(install, "dist"));
    await writeFile(join(install, "dist/hookpost.mjs"), 'process.stdout.write("ran");');
    await writeFile(join(install, "dist/hookpost.source"), "built from other sources");
    expect(await help()).toMatchObject({
      code: 1,
      stderr: "hookpost: dist/ is older than src/; run `npm run build`\n",
    });
  });

  it("runs dist/ as it is where there is no src/ (an image holding only the build)", async () => {
    await rm(join(install, "src/cli.ts"));
    expect(await help()).toMatchObject({ code: 0, stdout: "ran" });
  });
});
