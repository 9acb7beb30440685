import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Deps } from "../deps.ts";
import { isRecordingPaused, renderMetrics } from "../metrics.ts";
import { listen } from "./listen.ts";

/** What /readyz reports on; false while shutting down so load balancers stop sending. */
export type Probe = { ready(): boolean; redisPing(): Promise<unknown> };

type Route = (req: IncomingMessage, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/** Answers the request if one of `routes` is its path (whatever its query); false if none is. */
export function serveRoute(
  routes: Record<string, Route>,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const route = routes[(req.url ?? "").split("?")[0] ?? ""];
  route?.(req, res);
  return route !== undefined;
}

export function healthRoutes(deps: Deps, probe: Probe): Record<string, Route> {
  return {
    "/healthz": (_req, res) => json(res, 200, { status: "ok" }),
    "/metrics": (_req, res) => {
      const states = ["waiting", "active", "delayed", "prioritized"] as const;
      void Promise.all([deps.queues.delivery.getJobCounts(...states), deps.queues.batches.count()]).then(
        ([single, batches]) => {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
          // A batch holds up to DELIVERY_BATCH_MAX new deliveries; retries and re-enqueues are one job each.
          res.end(
            renderMetrics({
              hookpost_delivery_queue_jobs: single,
              hookpost_delivery_batch_queue_jobs: { waiting: batches },
            }),
          );
        },
        (err: Error) => {
          deps.logger.warn({ err }, "metrics: queue counts unavailable");
          json(res, 503, { status: "unavailable" });
        },
      );
    },
    "/readyz": (_req, res) => {
      void checkReady(deps, probe).then((checks) => {
        const ok = Object.values(checks).every((v) => v === "ok");
        json(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable", checks });
      });
    },
  };
}

/**
 * The health routes alone, for a worker-only process: orchestrators probe it
 * and Prometheus scrapes its delivery attempts like an api's. Resolves once
 * it listens, with the port it got.
 */
export async function startHealthServer(deps: Deps, probe: Probe, port: number, host: string) {
  const routes = healthRoutes(deps, probe);
  const server = createServer((req, res) => {
    if (!serveRoute(routes, req, res)) json(res, 404, { status: "not found" });
  });
  return {
    port: await listen(server, port, host),
    async stop(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}

export type HealthServer = Awaited<ReturnType<typeof startHealthServer>>;

/**
 * Each part "ok" or "down", nothing more: /readyz answers anyone, and a
 * driver's error names hosts and ports. Why a part is down goes to the log.
 */
async function checkReady(deps: Deps, probe: Probe): Promise<Record<string, string>> {
  const timeout = (ms: number) =>
    new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref());
  const check = async (part: string, fn: () => Promise<unknown>) => {
    try {
      await Promise.race([fn(), timeout(2_000)]);
      return "ok";
    } catch (err) {
      deps.logger.warn({ err, part }, "readiness check failed");
      return "down";
    }
  };
  const [database, redis] = await Promise.all([
    check("database", () => deps.prisma.$queryRaw`SELECT 1`),
    check("redis", () => probe.redisPing()),
  ]);
  return {
    process: probe.ready() ? "ok" : "down",
    database,
    redis,
    sends: isRecordingPaused() ? "paused" : "ok",
  };
}
