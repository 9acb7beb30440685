import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ENDPOINTS_USAGE, REPLAY_USAGE, TAIL_USAGE } from "./cli/usage.ts";
import { UsageError } from "./cli/usageError.ts";
import { KEYS_USAGE } from "./cliKeys.ts";
import type { Role } from "./main.ts";
import { StartupError } from "./startupError.ts";

const USAGE = `Usage: hookpost <command>

  start                     run the api and the worker in one process (default)
  api                       run only the GraphQL api
  worker                    run only the delivery worker
  migrate                   apply database migrations and exit
  workspace create <name>   create a workspace and print its API key
${KEYS_USAGE}

Against a running api (HOOKPOST_URL, default http://127.0.0.1:4000/graphql, with the
key in HOOKPOST_API_KEY; --url and --api-key override them):
${ENDPOINTS_USAGE}
${REPLAY_USAGE}
${TAIL_USAGE}

Settings come from the environment; docs/configuration.md lists every variable and its default.`;

/**
 * V8 applies the growing factor when it sizes the heap after a full GC. The
 * limit set by the last one, during startup, allows up to 4× the live heap,
 * which the first burst of work would fill before any full GC; one full GC
 * now makes the factor hold from the first job on.
 */
function limitHeapGrowth(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  setFlagsFromString("--no-expose-gc");
  gc();
}

const ROLES: Record<string, Role[]> = { start: ["api", "worker"], api: ["api"], worker: ["worker"] };
const COMMANDS = new Set([...Object.keys(ROLES), "migrate", "workspace", "keys"]);
/** Commands that talk to a running api: each module is loaded only when its command runs. */
const REMOTE_COMMANDS: Record<string, () => Promise<{ run(args: string[]): Promise<number> }>> = {
  endpoints: () => import("./cli/endpoints.ts"),
  replay: () => import("./cli/replay.ts"),
  tail: () => import("./cli/tail.ts"),
};

/** Runs a remote command; a usage mistake is printed on its own, exit status 2. */
async function runRemote(load: (typeof REMOTE_COMMANDS)[string], args: string[]): Promise<number> {
  try {
    return await (await load()).run(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command = "start", ...rest] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const remote = REMOTE_COMMANDS[command];
  if (remote) return runRemote(remote, rest);
  if (!COMMANDS.has(command)) {
    process.stderr.write(`unknown command: ${command}\n\n${USAGE}\n`);
    return 2;
  }
  // Loaded after the checks above, so `help` and a mistyped command answer at once.
  const [{ loadConfig }, { createLogger }] = await Promise.all([
    import("./config.ts"),
    import("./logger.ts"),
  ]);
  const config = loadConfig();
  const logger = createLogger(config);
  const startRoles = ROLES[command];
  if (startRoles) {
    // Said at once: loading the app and preparing the database can take a while on a busy machine.
    logger.info({ roles: startRoles }, "starting Hookpost…");
    // Loaded only for the commands that need them, so `help` and bad settings answer at once.
    const { startHookpost, stopOnSignals } = await import("./main.ts");
    if (config.heapGrowingPercent > 0) limitHeapGrowth(config.heapGrowingPercent);
    const hookpost = await startHookpost(config, logger, startRoles);
    stopOnSignals(hookpost.stop, logger);
    return -1;
  }
  if (command === "migrate") {
    const { openDatabase } = await import("./db/database.ts");
    const db = await openDatabase(config, (msg) => logger.info(msg), { joinRunning: true });
    await db.close();
    return 0;
  }
  if (command === "workspace" && rest[0] === "create" && rest[1]) {
    const [{ openDatabase }, { createWorkspace }] = await Promise.all([
      import("./db/database.ts"),
      import("./services/workspaces.ts"),
    ]);
    // Beside a running `hookpost start` on the embedded database, through that process's server.
    const db = await openDatabase(config, (msg) => logger.debug(msg), { joinRunning: true });
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
  if (command === "keys") return (await import("./cliKeys.ts")).runKeysCommand(config, logger, rest);
  process.stderr.write(
    `hookpost ${command}: missing or unknown arguments: ${rest.join(" ") || "(none)"}\n\n${USAGE}\n`,
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: Error) => {
    // What the operator can fix is said in its own words; anything else keeps its stack for a bug report.
    process.stderr.write(`${err instanceof StartupError ? `hookpost: ${err.message}` : err.stack}\n`);
    process.exit(1);
  },
);
