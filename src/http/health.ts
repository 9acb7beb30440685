import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { queryRows } from "../db/client.ts";
import { Prisma } from "../db/generated/client.ts";
import type { Deps } from "../deps.ts";
import {
  isRecordingPaused,
  METRICS_CONTENT_TYPE,
  renderMetrics,
  type SharedGaugeSources,
} from "../metrics.ts";
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
      void renderMetrics(gaugeSources(deps)).then(
        (text) => {
          res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE });
          res.end(text);
        },
        (err: Error) => {
          deps.logger.error({ err }, "metrics could not be rendered");
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

const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized"] as const;

/** One set of gauge sources per Deps, so their cached reads are shared by every scrape of the process. */
const sourcesByDeps = new WeakMap<Deps, SharedGaugeSources>();

/**
 * The deployment gauges' reads: one statement over the partial index of
 * unsettled deliveries and the endpoints, and the queues' counts.
 */
function gaugeSources(deps: Deps): SharedGaugeSources {
  let sources = sourcesByDeps.get(deps);
  if (sources) return sources;
  sources = {
    async database() {
      const [row] = await queryRows<{
        pending: number;
        retrying: number;
        oldest_due_age_s: number | null;
        disabled: number;
        circuit_open: number;
      }>(
        deps.prisma,
        Prisma.sql`SELECT
          count(*) FILTER (WHERE d.status = 'PENDING')::int AS pending,
          count(*) FILTER (WHERE d.status = 'RETRYING')::int AS retrying,
          extract(epoch FROM now() AT TIME ZONE 'UTC' - min(d."nextAttemptAt"))::float8 AS oldest_due_age_s,
          (SELECT count(*) FROM "Endpoint" WHERE NOT enabled)::int AS disabled,
          (SELECT count(*) FROM "Endpoint" WHERE "circuitOpenUntil" > now() AT TIME ZONE 'UTC')::int AS circuit_open
        FROM "Delivery" d WHERE d.status IN ('PENDING', 'RETRYING')`,
      );
      return {
        pending: row?.pending ?? 0,
        retrying: row?.retrying ?? 0,
        oldestDueAgeS: Math.max(0, row?.oldest_due_age_s ?? 0),
        disabled: row?.disabled ?? 0,
        circuitOpen: row?.circuit_open ?? 0,
      };
    },
    async queues() {
      const { delivery, replay, maintenance, batches } = deps.queues;
      const [d, r, m, waiting] = await Promise.all([
        delivery.getJobCounts(...QUEUE_STATES),
        replay.getJobCounts(...QUEUE_STATES),
        maintenance.getJobCounts(...QUEUE_STATES),
        batches.count(),
      ]);
      return { queues: { delivery: d, replay: r, maintenance: m }, batches: waiting };
    },
  };
  sourcesByDeps.set(deps, sources);
  return sources;
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
