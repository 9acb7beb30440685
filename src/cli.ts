import { setFlagsFromString } from "node:v8";
import { ConfigError, loadConfig } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { createLogger } from "./logger.ts";
import { type Role, startHookpost, stopOnSignals } from "./main.ts";
import { createWorkspace } from "./services/workspaces.ts";

const USAGE = `Usage: hookpost <command>

  start                     run the api and the worker in one process (default)
  api                       run only the GraphQL api
  worker                    run only the delivery worker
  migrate                   apply database migrations and exit
  workspace create <name>   create a workspace and print its API key

Settings come from the environment; see src/config.ts for every variable and its default.`;

async function main(argv: string[]): Promise<number> {
  const [command = "start", ...rest] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger(config);
  const roles: Record<string, Role[]> = { start: ["api", "worker"], api: ["api"], worker: ["worker"] };
  const startRoles = roles[command];
  if (startRoles) {
    // V8 reads this each time it sizes the heap after a full GC, so setting it now takes effect.
    if (config.heapGrowingPercent > 0)
      setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
    const hookpost = await startHookpost(config, logger, startRoles);
    stopOnSignals(hookpost.stop, logger);
    return -1;
  }
  if (command === "migrate") {
    const db = await openDatabase(config, (msg) => logger.info(msg));
    await db.close();
    return 0;
  }
  if (command === "workspace" && rest[0] === "create" && rest[1]) {
    const db = await openDatabase(config, (msg) => logger.debug(msg));
    try {
      const { workspaceId, apiKey } = await createWorkspace(db.prisma, rest.slice(1).join(" "));
      process.stdout.write(
        `workspace: ${workspaceId}\napi key:   ${apiKey}\n(the key is shown once; store it now)\n`,
      );
    } finally {
      await db.close();
    }
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).stack}\n`);
    process.exit(1);
  },
);
