#!/usr/bin/env node
// Runs dist/hookpost.mjs, which `npm install` or `npm run build` builds: starting never builds.
import { pathToFileURL } from "node:url";
import { BUNDLE, distProblem } from "../scripts/dist.mjs";

const problem = await distProblem();
if (problem) {
  process.stderr.write(`hookpost: ${problem}; run \`npm run build\`\n`);
  process.exit(1);
}
// Stack traces name src/ files and lines, through the bundle's source map.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(BUNDLE).href);
