import { readFileSync } from "node:fs";
import { projectPath } from "./paths.ts";

/** Hookpost's version, from package.json; sent as `user-agent: Hookpost/<version>`. */
export const VERSION: string = JSON.parse(readFileSync(projectPath("package.json"), "utf8")).version;
export const USER_AGENT = `Hookpost/${VERSION}`;
