import { readFileSync } from "node:fs";

/** Hookpost's version, from package.json; sent as `user-agent: Hookpost/<version>`. */
export const VERSION: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).version;
export const USER_AGENT = `Hookpost/${VERSION}`;
