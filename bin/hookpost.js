#!/usr/bin/env node
// Runs dist/hookpost.mjs, built from src/ first when src/ changed since the last build.
import { pathToFileURL } from "node:url";
import { freshBundle } from "../scripts/build.mjs";

// Stack traces name src/ files and lines, through the bundle's source map.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(await freshBundle()).href);
