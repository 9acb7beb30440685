#!/usr/bin/env node
// Builds dist/hookpost.mjs from src/ (a fraction of a second), then runs it.
import { pathToFileURL } from "node:url";
import { buildHookpost } from "../scripts/build.mjs";

// Stack traces name src/ files and lines, through the bundle's source map.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(await buildHookpost()).href);
