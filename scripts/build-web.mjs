// Builds the portal (web/) into web/dist: a static single-page app with
// content-hashed assets, served by the api at `/`. Run by `npm run build` and by
// `npm install` (postinstall), never at start. Needs the dev dependencies (Vite,
// React, GraphQL codegen); an install without them skips it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const WEB_ROOT = fileURLToPath(new URL("../web/", import.meta.url));
export const WEB_DIST = fileURLToPath(new URL("../web/dist/", import.meta.url));

export async function buildWeb({ codegen: runCodegen = true } = {}) {
  // The typed documents of web/src/gql come from codegen.ts's web target.
  if (runCodegen) generateTypedDocuments();
  const { build } = await import("vite");
  await build({
    root: WEB_ROOT,
    configFile: false,
    base: "/",
    logLevel: "warn",
    build: { outDir: WEB_DIST, emptyOutDir: true, assetsDir: "assets", reportCompressedSize: false },
  });
  return WEB_DIST;
}

function generateTypedDocuments() {
  const codegen = spawnSync(
    fileURLToPath(new URL("../node_modules/.bin/graphql-codegen", import.meta.url)),
    ["--config", "codegen.ts", "--silent"],
    { stdio: "inherit", cwd: ROOT },
  );
  if (codegen.status !== 0) throw new Error("graphql-codegen failed");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  if (!existsSync(fileURLToPath(new URL("../node_modules/vite/package.json", import.meta.url)))) {
    console.log("Vite is not installed (dev dependencies omitted): the portal (web/dist) is not built");
    process.exit(0);
  }
  // postinstall has just run codegen (scripts/codegen.mjs).
  await buildWeb({ codegen: !process.argv.includes("--no-codegen") });
  process.stdout.write("built web/dist\n");
}
