import { type Config, publicBaseUrl } from "./config.ts";
import { type HealthServer, type Probe, startHealthServer } from "./http/health.ts";
import { ensurePortFree } from "./http/listen.ts";
import type { App } from "./http/server.ts";
import type { Logger } from "./logger.ts";
import { startWorkers } from "./queue/workers.ts";
import { openRuntime } from "./runtime.ts";
import { createAuthenticator } from "./services/auth.ts";
import { bootstrapWorkspace } from "./services/workspaces.ts";
import { startTracing, stopTracing } from "./tracing/tracing.ts";

export type Role = "api" | "worker";

/**
 * Runs the api, the worker, or both in this process until stop() (or
 * SIGTERM/SIGINT via runUntilSignal). Shutdown order: unready → close HTTP and
 * sockets → close workers (in-flight jobs finish) → a worker's health routes →
 * Redis → database.
 */
export async function startHookpost(config: Config, logger: Logger, roles: readonly Role[]) {
  // Checked first: a port in use is said at once, not after the database has been prepared.
  if (roles.includes("api")) await ensurePortFree(config.http.port, config.http.host, "PORT");
  else await ensurePortFree(config.http.workerPort, config.http.host, "WORKER_PORT");
  await startTracing(config, logger);
  const runtime = await openRuntime(config, logger).catch(async (err: unknown) => {
    await stopTracing(config);
    throw err;
  });
  const { deps } = runtime;
  let ready = false;
  const probe: Probe = { ready: () => ready, redisPing: runtime.redisPing };

  const authenticator = roles.includes("api")
    ? createAuthenticator(deps.prisma, config, deps.rateLimits, logger)
    : null;
  let app: App | null = null;
  let port: number | null = null;
  let health: HealthServer | null = null;
  try {
    if (config.auth.bootstrapWorkspace) {
      const created = await bootstrapWorkspace(deps.prisma);
      if (created) {
        process.stdout.write(
          `\nCreated workspace ${created.workspaceId}. Its API key (shown once, keep it):\n\n  ${created.apiKey}\n\n`,
        );
      }
    }
    // Loaded only for the api role: a worker-only process never builds the GraphQL schema (~90 MB).
    app = authenticator
      ? (await import("./http/server.ts")).buildApp(deps, authenticator.authenticate, probe)
      : null;
    port = app ? await app.start(config.http.port, config.http.host) : null;
    // Listening before taking jobs: a port already in use stops the start before any attempt.
    health = app ? null : await startHealthServer(deps, probe, config.http.workerPort, config.http.host);
  } catch (err) {
    // Nothing takes work yet: what is open closes, so a caller that goes on (a test, a retry) holds nothing.
    await app?.stop();
    await authenticator?.close();
    await runtime.close();
    await stopTracing(config);
    throw err;
  }
  const workers = roles.includes("worker") ? startWorkers(deps) : null;
  ready = true;
  if (port !== null) {
    const base = publicBaseUrl(config.http, port);
    logger.info({ port, roles }, `Hookpost listening: GraphQL and GraphiQL at ${base}/graphql`);
  } else {
    logger.info({ roles, port: health?.port }, "Hookpost worker running: /healthz, /readyz, /metrics");
  }

  let stopped: Promise<void> | null = null;
  return {
    port,
    deps,
    stop(): Promise<void> {
      stopped ??= (async () => {
        ready = false;
        await app?.stop();
        await authenticator?.close();
        await workers?.close();
        // Answers probes until the workers have drained, so a long drain does not look like a hang.
        await health?.stop();
        await runtime.close();
        await stopTracing(config);
        logger.info("Hookpost stopped");
      })();
      return stopped;
    },
  };
}

/**
 * Stops gracefully on SIGTERM/SIGINT; a second signal exits at once. An
 * uncaught exception or unhandled rejection is logged as JSON with its stack
 * before the process exits, as Node would (it would print it unstructured).
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  const crash = (err: unknown, origin: string) => {
    logger.fatal({ err, origin }, "unexpected error: exiting");
    process.exit(1);
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", (reason) => crash(reason, "unhandledRejection"));
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
