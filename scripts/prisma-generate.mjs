// Runs `prisma generate` offline. The Prisma CLI looks for its schema-engine
// binary at startup and tries to download it; generate never runs it, so any
// existing file satisfies the check. An install without dev dependencies has
// no Prisma CLI and runs a dist/ built elsewhere (the client is bundled in it),
// so it skips.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

if (!existsSync(fileURLToPath(new URL("../node_modules/.bin/prisma", import.meta.url)))) {
  console.log("the Prisma CLI is not installed (dev dependencies omitted): src/db/generated/ not generated");
  process.exit(0);
}
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
const result = spawnSync("npx", ["prisma", "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
