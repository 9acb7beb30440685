// Generates test/generated/ (the typed operations that tests and bench/live.ts
// import) as part of `npm install`, so every npm script works from a fresh
// clone in any order. An install without dev dependencies has no codegen and
// no use for its output, so it skips.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const codegen = fileURLToPath(new URL("../node_modules/.bin/graphql-codegen", import.meta.url));
if (!existsSync(codegen)) {
  console.log("GraphQL codegen is not installed (dev dependencies omitted): test/generated/ not generated");
  process.exit(0);
}
const result = spawnSync(codegen, ["--config", "codegen.ts", "--silent"], {
  stdio: "inherit",
  cwd: fileURLToPath(new URL("..", import.meta.url)),
});
process.exit(result.status ?? 1);
