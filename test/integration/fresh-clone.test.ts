import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

/** The files a clone would have, as they are in the working tree (so uncommitted changes count). */
async function cloneFiles(): Promise<string[]> {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: REPO,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.split("\0").filter(Boolean);
}

/**
 * A fresh clone has none of the generated code (src/db/generated, test/generated):
 * `npm install` must produce all of it, so that every npm script works next, in any
 * order (`npm run bench` without a prior `npm test` included), and dist/, so that
 * `npm start` runs without building. The clone shares this
 * checkout's node_modules; the install's own step here is its postinstall script.
 */
describe("a fresh clone after npm install", () => {
  let clone: string;
  let files: string[];

  beforeAll(async () => {
    clone = await mkdtemp(join(tmpdir(), "hookpost-clone-"));
    files = await cloneFiles();
    for (const file of files) {
      await cp(join(REPO, file), join(clone, file), { recursive: true }).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error; // deleted in the working tree, not yet committed
        },
      );
    }
    await symlink(join(REPO, "node_modules"), join(clone, "node_modules"), "dir");
    await run("npm", ["run", "--silent", "postinstall"], { cwd: clone, maxBuffer: 16 * 1024 * 1024 });
  }, 300_000);

  afterAll(async () => {
    if (clone) await rm(clone, { recursive: true, force: true });
  });

  it("has dist/ built by the install, so `hookpost` runs at once", async () => {
    const { stdout } = await run(process.execPath, ["bin/hookpost.js", "help"], { cwd: clone });
    expect(stdout).toMatch(/^Usage: hookpost <command>/);
  });

  it("resolves every import of every script and benchmark", async () => {
    const entries = files.filter((file) => /^(bench|scripts)\/.*\.ts$/.test(file));
    expect(entries).toContain("bench/live.ts");
    const result = await build({
      absWorkingDir: clone,
      entryPoints: entries,
      bundle: true,
      write: false,
      outdir: "out",
      platform: "node",
      format: "esm",
      packages: "external",
      logLevel: "silent",
    }).catch((error: { errors?: { text: string }[] }) => ({ errors: error.errors ?? [] }));
    expect(result.errors.map((error) => error.text)).toEqual([]);
  });

  it("has the portal built (web/dist), ready for the api to serve at /", async () => {
    const index = await readFile(join(clone, "web/dist/index.html"), "utf8");
    const scripts = (await readdir(join(clone, "web/dist/assets"))).filter((name) => name.endsWith(".js"));
    expect(scripts.filter((name) => index.includes(`/assets/${name}`))).not.toEqual([]);
  });
});
