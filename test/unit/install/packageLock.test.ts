import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

/**
 * A fresh `npm install` must be quiet and leave package-lock.json as committed.
 * package.json's `overrides` hold back transitive packages whose newer majors
 * only dropped older Node lines (e.g. @whatwg-node/promise-helpers 2 wants
 * Node 22.15); `prisma` gets the last @prisma/dev without
 * @prisma/streams-local (Node 22 only), which only `prisma dev` uses.
 * `allowScripts` denies every install script in the tree, none being needed:
 * @prisma/engines' postinstall downloads engines that Prisma 7's WASM client
 * never runs (scripts/prisma-generate.mjs stands in for the one the CLI looks
 * for); prisma's preinstall only checks the Node version; esbuild's
 * postinstall checks the binary its platform package ships, which its API
 * finds on its own; msgpackr-extract's builds an addon only when no prebuilt
 * platform package fits, and msgpackr works without it.
 */
type LockedPackage = {
  version?: string;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
  optionalDependencies?: Record<string, string>;
};

const readJson = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../${name}`, import.meta.url), "utf8"));
const manifest = readJson("package.json") as {
  engines: { node: string };
  allowScripts?: Record<string, boolean>;
};
const lock = readJson("package-lock.json") as { packages: Record<string, LockedPackage> };
const locked = Object.entries(lock.packages).filter(([path]) => path !== "");

/** The locked entry that `name` resolves to from the package at `from`, as Node's lookup walks up. */
function resolveLocked(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return undefined;
    const parent = dir.lastIndexOf("/node_modules/");
    dir = parent < 0 ? "" : dir.slice(0, parent);
  }
}

const packageName = (path: string) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);

describe("package-lock.json", () => {
  it("holds only packages whose engines admit every Node version package.json supports", () => {
    const supported = manifest.engines.node;
    const refusing = locked
      .map(([path, entry]) => [path, Array.isArray(entry.engines) ? undefined : entry.engines?.node] as const)
      .filter(([, wants]) => wants !== undefined && !semver.subset(supported, wants))
      .map(([path, wants]) => `${path} wants node ${wants}`);
    expect(refusing).toEqual([]);
  });

  it("locks every optional (platform) dependency, so no install adds entries for its own platform", () => {
    const missing = locked.flatMap(([path, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter((name) => resolveLocked(path, name) === undefined)
        .map((name) => `${path} → ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it("decides in allowScripts on every install script, so none runs unreviewed", () => {
    const decided = new Set(
      Object.keys(manifest.allowScripts ?? {}).map((key) => key.replace(/(.)@.*$/, "$1")),
    );
    const undecided = locked
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => packageName(path))
      .filter((name) => !decided.has(name));
    expect(undecided).toEqual([]);
  });
});
