import type { Config } from "./config.ts";
import type { Logger } from "./logger.ts";
import { startWorkers } from "./queue/workers.ts";
import { openRuntime } from "./runtime.ts";
import { createAuthenticator } from "./services/auth.ts";
import { bootstrapWorkspace } from "./services/workspaces.ts";

export type Role = "api" | "worker";

/**
 * Runs the api, the worker, or both in this process until stop() (or
 * SIGTERM/SIGINT via runUntilSignal). Shutdown order: unready → close HTTP and
 * sockets → close workers (in-flight jobs finish) → Redis → database.
 */
export async function startHookpost(config: Config, logger: Logger, roles: readonly Role[]) {
  const runtime = await openRuntime(config, logger);
  const { deps } = runtime;
  let ready = false;

  if (config.auth.bootstrapWorkspace) {
    const created = await bootstrapWorkspace(deps.prisma);
    if (created) {
      process.stdout.write(
        `\nCreated workspace ${created.workspaceId}. Its API key (shown once, keep it):\n\n  ${created.apiKey}\n\n`,
      );
    }
  }

  // Loaded only for the api role: a worker-only process never builds the GraphQL schema (~90 MB).
  const app = roles.includes("api")
    ? (await import("./http/server.ts")).buildApp(deps, createAuthenticator(deps.prisma, config), {
        ready: () => ready,
        redisPing: runtime.redisPing,
      })
    : null;
  const port = app ? await app.start(config.http.port, config.http.host) : null;
  const workers = roles.includes("worker") ? startWorkers(deps) : null;
  ready = true;
  if (port !== null) {
    const base =
      config.http.publicUrl ??
      `http://${config.http.host === "0.0.0.0" ? "localhost" : config.http.host}:${port}`;
    logger.info({ port, roles }, `Hookpost listening: GraphQL and GraphiQL at ${base}/graphql`);
  } else {
    logger.info({ roles }, "Hookpost worker running");
  }

  let stopped: Promise<void> | null = null;
  return {
    port,
    deps,
    stop(): Promise<void> {
      stopped ??= (async () => {
        ready = false;
        await app?.stop();
        await workers?.close();
        await runtime.close();
        logger.info("Hookpost stopped");
      })();
      return stopped;
    },
  };
}

/** Stops gracefully on SIGTERM/SIGINT; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info({ signal }, "shutting down");
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
