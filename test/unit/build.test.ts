import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildHookpost } from "../../scripts/build.mjs";

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

describe("production bundle", () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await buildHookpost();
  });

  it("loads the api's packages only when the api starts, so a worker never holds them", async () => {
    const atStart = await packagesLoadedBy(bundle);
    expect(atStart).toContain("bullmq");
    expect(atStart).toContain("undici");
    for (const apiOnly of ["graphql-yoga", "@pothos/core", "graphql-ws", "@graphql-yoga/render-graphiql"])
      expect(atStart, apiOnly).not.toContain(apiOnly);

    const lazily = [...(await readFile(bundle, "utf8")).matchAll(/import\("(\.\/chunks\/[^"]+)"\)/g)];
    const api = await Promise.all(
      lazily.map(([, chunk]) => packagesLoadedBy(resolve(dirname(bundle), chunk!))),
    );
    expect(api.some((packages) => packages.has("graphql-yoga") && packages.has("graphql-ws"))).toBe(true);
  });
});
