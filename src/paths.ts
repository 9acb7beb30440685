import { existsSync } from "node:fs";

/**
 * The project's root: the nearest folder above this module holding
 * package.json. Found rather than assumed, because this module runs both from
 * src/ (under tsx, in tests) and bundled into dist/ (`npm start`).
 */
function findRoot(): URL {
  for (let dir = new URL("./", import.meta.url); ; dir = new URL("../", dir)) {
    if (existsSync(new URL("package.json", dir))) return dir;
    if (dir.pathname === "/") throw new Error(`no package.json above ${import.meta.url}`);
  }
}

const ROOT = findRoot();

/** A file or folder of the project, by its path from the root (e.g. `prisma/migrations/`). */
export function projectPath(relative: string): URL {
  return new URL(relative, ROOT);
}
