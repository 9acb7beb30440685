import { z } from "zod";
import { parseRedisUrl } from "./redisUrl.ts";
import { StartupError } from "./startupError.ts";

/**
 * Every Hookpost setting, its default and its environment variable. Parsed once
 * at boot into a frozen object; nothing else reads process.env.
 * Units are in the names (_MS, _S, _BYTES, _DAYS). Each setting needs a doc
 * comment: docs/configuration.md is generated from them (`npm run config:docs`).
 */

const bool = z
  .union([z.boolean(), z.enum(["1", "0", "true", "false", "yes", "no", "on", "off", ""])])
  .transform((v) => v === true || v === "1" || v === "true" || v === "yes" || v === "on");

const intWith = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const durationList = (def: string) =>
  z
    .string()
    .default(def)
    .transform((s, ctx) => {
      const parts = s
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean);
      const ms = parts.map(parseDurationMs);
      if (ms.length === 0 || ms.some((v) => v === undefined)) {
        ctx.addIssue({ code: "custom", message: `invalid duration list "${s}" (e.g. "5s,30s,2m,10m,1h")` });
        return z.NEVER;
      }
      return ms as number[];
    });

const duration = (def: string) =>
  z
    .string()
    .default(def)
    .transform((s, ctx) => {
      const ms = parseDurationMs(s);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `invalid duration "${s}" (e.g. "5d", "12h", "0")` });
        return z.NEVER;
      }
      return ms;
    });

/** "250ms" | "5s" | "2m" | "1h" | "1d" | "1500" (ms) → milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "ms"] ?? 1;
  return Math.round(Number(m[1]) * unitMs);
}

const envSchema = z.object({
  /** "production" in deployments; "test" in the test suite. */
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** Least severe level logged (pino levels); "silent" logs nothing. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * How far V8 lets the heap grow past what survived the last full GC, in
   * percent. V8's own choice (0) is up to 4×: a busy worker whose live heap is
   * ~100 MB then holds ~350 MB of garbage. 50 keeps memory proportional to
   * what is live, with no hard cap that large payloads could hit. 20 kept
   * less (a busy worker peaked 20–40 MB lower) but ran a full GC about once a
   * second in both processes: e2e was 10 % slower, and its pauses were most
   * of the p99 publish→receiver latency.
   */
  HEAP_GROWING_PERCENT: intWith(50),

  /**
   * PostgreSQL URL. Unset: embedded PGlite under DATA_DIR. Through PgBouncer,
   * use session pooling, or transaction pooling with max_prepared_statements
   * set (PgBouncer 1.21+): the publish insert is a prepared statement.
   */
  DATABASE_URL: z.string().url().optional(),
  /** Where the embedded database lives when DATABASE_URL is unset. */
  DATA_DIR: z.string().default(".data"),
  /** PostgreSQL pool size per process. */
  DATABASE_POOL_MAX: intWith(10, 1),
  /** How long a pool connection may sit idle before it is closed (pg's default). */
  DATABASE_IDLE_TIMEOUT_MS: intWith(10_000, 1),

  /**
   * One Redis (`redis://[:pass@]host:6379[/db]`, `rediss://` for TLS) or a
   * Redis Cluster: `redis+cluster://[user:pass@]host1:6379,host2:6379`
   * (`rediss+cluster://` for TLS), the nodes discovery starts from
   * (docs/redis-cluster.md).
   */
  REDIS_URL: z
    .string()
    .default("redis://127.0.0.1:6379")
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
      }
    }),
  /**
   * Names this deployment's Redis keys and pub/sub channels. Keys are written
   * under `{REDIS_PREFIX}:`, a Redis Cluster hash tag that keeps them in one slot.
   */
  REDIS_PREFIX: z.string().min(1).default("hookpost"),

  /** Address the api (and a worker's health port) listens on. */
  HOST: z.string().default("0.0.0.0"),
  /** The api's port: GraphQL and graphql-ws on /graphql, and /healthz, /readyz, /metrics. */
  PORT: intWith(4000),
  /**
   * Where a worker-only process (`hookpost worker`) answers /healthz, /readyz
   * and /metrics; 0 lets the system pick a free port (it is logged). A
   * process that also runs the api answers them on PORT.
   */
  WORKER_PORT: intWith(4001),
  /** Public base URL, printed at start; portal links and inbound source URLs start with it. */
  PUBLIC_URL: z.string().optional(),
  /** The built web app served at `/` (`npm run build` makes it). Unset: web/dist in the project. */
  WEB_DIST_DIR: z.string().min(1).optional(),
  /**
   * Sites that may show the web app in a frame, as a CSP `frame-ancestors`
   * source list (e.g. "https://app.example.com"; "'none'" for none). Unset: any site.
   */
  WEB_FRAME_ANCESTORS: z.string().min(1).optional(),

  /**
   * HS256 secret for frontend JWTs whose `workspace` claim names the workspace, and for portal links.
   * Unset: JWT auth off, and each api process signs portal links with a random key of its own.
   */
  JWT_SECRET: z.string().min(16).optional(),
  /** Claim in the JWT that carries the workspace id. */
  JWT_WORKSPACE_CLAIM: z.string().default("workspace"),
  /** When set, a JWT's `aud` must include it. JWTs always need `exp`. */
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** When set, a JWT's `iss` must equal it. */
  JWT_ISSUER: z.string().min(1).optional(),
  /** GraphQL requests per minute and API key (or JWT workspace), shared by every api process. 0: no limit. */
  RATE_LIMIT_REQUESTS_PER_MINUTE: intWith(120_000),
  /** testEndpoint, replayDelivery and replayEvents calls per minute and API key: each sends requests out. 0: no limit. */
  RATE_LIMIT_OUTBOUND_PER_MINUTE: intWith(60),
  /** Requests with a bad API key or token per minute and client address; past it, that address is refused. 0: no limit. */
  RATE_LIMIT_FAILED_AUTH_PER_MINUTE: intWith(30),
  /** Requests to one inbound source (POST /inbound/<id>) per minute; past it, 429. 0: no limit. */
  RATE_LIMIT_INBOUND_PER_MINUTE: intWith(6_000),
  /** How often an api process writes the lastUsedAt of the keys it saw. */
  API_KEY_LAST_USED_FLUSH_MS: intWith(30_000, 10),
  /** On first start with no workspace, create one and print its API key. */
  BOOTSTRAP_WORKSPACE: bool.default(true),

  /** Per-attempt HTTP timeout. */
  DELIVERY_TIMEOUT_MS: intWith(10_000, 1),
  /** Retry delays after the 1st, 2nd, … failed attempt. The delivery is FAILED after the last. */
  RETRY_SCHEDULE: durationList("5s,30s,2m,10m,1h,6h,24h"),
  /** ±fraction of random jitter on each retry delay. */
  RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  /** Minimum wait after a timeout or a 429. */
  RETRY_MIN_AFTER_THROTTLE_MS: intWith(60_000),
  /** Consecutive failed deliveries that disable an endpoint. 0 never disables. */
  ENDPOINT_FAILURE_THRESHOLD: intWith(20),
  /** An endpoint that keeps failing with no success for this long ("5d", "12h") is disabled. 0 never disables. */
  ENDPOINT_DISABLE_AFTER: duration("5d"),
  /**
   * Consecutive failed attempts that open an endpoint's circuit: its scheduled
   * attempts then wait, sending nothing, while one probe every
   * CIRCUIT_COOLDOWN_MS tries it; the first success sends them all. 0 never opens it.
   */
  CIRCUIT_FAILURE_THRESHOLD: intWith(10),
  /** How long an open circuit waits before its probe. */
  CIRCUIT_COOLDOWN_MS: intWith(30_000, 100),
  /** Response bodies are stored up to this many bytes. */
  RESPONSE_BODY_LIMIT_BYTES: intWith(4_096),
  /** Largest accepted GraphQL request body; larger ones get 413 REQUEST_ENTITY_TOO_LARGE. */
  REQUEST_BODY_LIMIT_BYTES: intWith(25_000_000, 1),
  /** Largest accepted inbound provider webhook (POST /inbound/<sourceId>); larger ones get 413. */
  INBOUND_BODY_LIMIT_BYTES: intWith(5_000_000, 1),
  /**
   * Hosts an Amazon SNS signing certificate or SubscribeURL may come from,
   * comma-separated; `*` stands for one DNS label (the region). Fetched over
   * HTTPS; an entry written `http://<host>` allows plain HTTP to that host
   * (a local test server only).
   */
  INBOUND_SNS_HOSTS: z.string().default("sns.*.amazonaws.com,sns.*.amazonaws.com.cn"),
  /** Largest accepted event payload (serialized JSON). */
  PAYLOAD_LIMIT_BYTES: intWith(256 * 1024, 1),
  /** Deepest selection one GraphQL operation may make (introspection aside). */
  GRAPHQL_MAX_DEPTH: intWith(10, 1),
  /** Most aliases in one GraphQL document. */
  GRAPHQL_MAX_ALIASES: intWith(15),
  /** Most tokens in one GraphQL document (send large input as variables). */
  GRAPHQL_MAX_TOKENS: intWith(3_000, 1),
  /**
   * Highest cost of one operation: each object field counts 1 (scalars 0)
   * and a list's cost is multiplied by its `first` (connections default to
   * 20, Event.deliveries and Delivery.attempts to 100), so nested lists multiply.
   */
  GRAPHQL_MAX_COST: intWith(20_000, 1),
  /** Most testEndpoint and replayDelivery fields (each sends an HTTP request) in one request. */
  GRAPHQL_MAX_OUTBOUND_FIELDS: intWith(5),
  /** Deepest nesting of objects and lists in a request's input (variables or literals), event data included. */
  GRAPHQL_MAX_INPUT_DEPTH: intWith(32, 1),
  /**
   * Concurrent deliveries per worker process. An attempt in flight costs a
   * socket and a few KB. One whose receiver has not answered for 500 ms sets
   * its slot aside for the next delivery and runs on to its timeout, up to as
   * many again (src/backpressure/deliverySlots.ts), so endpoints that hang do not
   * hold up the others.
   */
  WORKER_CONCURRENCY: intWith(500, 1),
  /**
   * BullMQ fetch loops per process for deliveries that run again (retries,
   * deferrals, re-enqueues), one job each. New deliveries arrive in batches
   * from a Redis list (src/queue/batchQueue.ts). All share WORKER_CONCURRENCY.
   */
  DELIVERY_WORKERS: intWith(4, 1),
  /**
   * Keep-alive connections per receiving origin and worker process. When an
   * origin has this many attempts in flight and is slow (no answer for
   * 500 ms, or a wait for a connection of a tenth of DELIVERY_TIMEOUT_MS and
   * at least 500 ms), or has eight in flight and has not answered yet,
   * further deliveries to it wait in line in the worker process
   * (src/backpressure/originLines.ts), holding none of the WORKER_CONCURRENCY slots
   * that other endpoints need, and start as its connections come free.
   */
  OUTBOUND_CONNECTIONS_PER_ORIGIN: intWith(128, 1),
  /** Grace period of the previous secret after a rotation, when the caller gives none. */
  SECRET_ROTATION_GRACE_S: intWith(86_400),

  /**
   * Comma-separated CIDRs / hostnames that outbound requests may reach even
   * though they are private, loopback or link-local (e.g. "127.0.0.0/8,::1/128").
   * Empty: only public addresses.
   */
  OUTBOUND_ALLOW: z.string().default(""),

  /** How often the sweeper looks for due deliveries missing from Redis. */
  SWEEP_INTERVAL_MS: intWith(30_000, 100),
  /** A due delivery is re-enqueued when it is this late. */
  SWEEP_GRACE_MS: intWith(60_000),

  /** Longest span one replayEvents request may cover. */
  REPLAY_MAX_SPAN_DAYS: intWith(31, 1),
  /**
   * Events read and deliveries enqueued per replay batch. Memory holds two
   * batches; bigger batches spread each batch's fixed cost (counts, progress,
   * round trips) thinner: 100k events enqueue in ~16 s at 2,500 against ~22 s at 1,000.
   */
  REPLAY_BATCH_SIZE: intWith(2_500, 1),
  /** Attempts and events older than this are pruned. 0 keeps everything. */
  RETENTION_DAYS: intWith(30),
  /** How often the retention job runs. */
  RETENTION_INTERVAL_MS: intWith(3_600_000, 1_000),

  /**
   * OTLP/HTTP collector base URL (e.g. "http://otel-collector:4318"); spans go
   * to `<url>/v1/traces`. Unset: tracing is off and no OpenTelemetry code is
   * loaded. The SDK reads the other standard OTEL_* variables itself
   * (docs/observability.md).
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** The full URL spans go to, when not `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`; set, tracing is on. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  /** true: tracing stays off whatever the endpoints say. */
  OTEL_SDK_DISABLED: bool.default(false),
  /** The `service.name` of this process's spans. */
  OTEL_SERVICE_NAME: z.string().min(1).default("hookpost"),
  /** Send a W3C `traceparent` header with each delivery attempt while tracing is on, so receivers can join the trace. */
  OUTBOUND_TRACEPARENT: bool.default(true),
});

export type Config = Readonly<{
  env: "development" | "production" | "test";
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  heapGrowingPercent: number;
  database: { url: string | undefined; dataDir: string; poolMax: number; idleTimeoutMs: number };
  redis: { url: string; prefix: string };
  http: {
    host: string;
    port: number;
    workerPort: number;
    publicUrl: string | undefined;
    webDistDir: string | undefined;
    webFrameAncestors: string | undefined;
    requestBodyLimitBytes: number;
    inboundBodyLimitBytes: number;
  };
  auth: {
    jwtSecret: string | undefined;
    jwtWorkspaceClaim: string;
    jwtAudience: string | undefined;
    jwtIssuer: string | undefined;
    bootstrapWorkspace: boolean;
    lastUsedFlushMs: number;
  };
  rateLimits: {
    requestsPerMinute: number;
    outboundPerMinute: number;
    failedAuthPerMinute: number;
    inboundPerMinute: number;
  };
  graphql: {
    maxDepth: number;
    maxAliases: number;
    maxTokens: number;
    maxCost: number;
    maxOutboundFields: number;
    maxInputDepth: number;
  };
  delivery: {
    timeoutMs: number;
    retryScheduleMs: readonly number[];
    retryJitter: number;
    retryMinAfterThrottleMs: number;
    endpointFailureThreshold: number;
    endpointDisableAfterMs: number;
    circuit: { failureThreshold: number; cooldownMs: number };
    responseBodyLimitBytes: number;
    payloadLimitBytes: number;
    workerConcurrency: number;
    workers: number;
    connectionsPerOrigin: number;
    secretRotationGraceS: number;
    outboundAllow: readonly string[];
  };
  inbound: { snsHosts: readonly string[] };
  sweeper: { intervalMs: number; graceMs: number };
  replay: { maxSpanDays: number; batchSize: number };
  retention: { days: number; intervalMs: number };
  /** `tracesUrl`: where spans are exported; undefined: tracing is off. */
  tracing: { tracesUrl: string | undefined; serviceName: string; outboundTraceparent: boolean };
}>;

export class ConfigError extends StartupError {}

/** Builds the config from an environment (process.env by default). Throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return deepFreeze({
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
    database: {
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      poolMax: e.DATABASE_POOL_MAX,
      idleTimeoutMs: e.DATABASE_IDLE_TIMEOUT_MS,
    },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    http: {
      host: e.HOST,
      port: e.PORT,
      workerPort: e.WORKER_PORT,
      publicUrl: e.PUBLIC_URL,
      webDistDir: e.WEB_DIST_DIR,
      webFrameAncestors: e.WEB_FRAME_ANCESTORS,
      requestBodyLimitBytes: e.REQUEST_BODY_LIMIT_BYTES,
      inboundBodyLimitBytes: e.INBOUND_BODY_LIMIT_BYTES,
    },
    auth: {
      jwtSecret: e.JWT_SECRET,
      jwtWorkspaceClaim: e.JWT_WORKSPACE_CLAIM,
      jwtAudience: e.JWT_AUDIENCE,
      jwtIssuer: e.JWT_ISSUER,
      bootstrapWorkspace: e.BOOTSTRAP_WORKSPACE,
      lastUsedFlushMs: e.API_KEY_LAST_USED_FLUSH_MS,
    },
    rateLimits: {
      requestsPerMinute: e.RATE_LIMIT_REQUESTS_PER_MINUTE,
      outboundPerMinute: e.RATE_LIMIT_OUTBOUND_PER_MINUTE,
      failedAuthPerMinute: e.RATE_LIMIT_FAILED_AUTH_PER_MINUTE,
      inboundPerMinute: e.RATE_LIMIT_INBOUND_PER_MINUTE,
    },
    graphql: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
      maxOutboundFields: e.GRAPHQL_MAX_OUTBOUND_FIELDS,
      maxInputDepth: e.GRAPHQL_MAX_INPUT_DEPTH,
    },
    delivery: {
      timeoutMs: e.DELIVERY_TIMEOUT_MS,
      retryScheduleMs: e.RETRY_SCHEDULE,
      retryJitter: e.RETRY_JITTER,
      retryMinAfterThrottleMs: e.RETRY_MIN_AFTER_THROTTLE_MS,
      endpointFailureThreshold: e.ENDPOINT_FAILURE_THRESHOLD,
      endpointDisableAfterMs: e.ENDPOINT_DISABLE_AFTER,
      circuit: { failureThreshold: e.CIRCUIT_FAILURE_THRESHOLD, cooldownMs: e.CIRCUIT_COOLDOWN_MS },
      responseBodyLimitBytes: e.RESPONSE_BODY_LIMIT_BYTES,
      payloadLimitBytes: e.PAYLOAD_LIMIT_BYTES,
      workerConcurrency: e.WORKER_CONCURRENCY,
      workers: e.DELIVERY_WORKERS,
      connectionsPerOrigin: e.OUTBOUND_CONNECTIONS_PER_ORIGIN,
      secretRotationGraceS: e.SECRET_ROTATION_GRACE_S,
      outboundAllow: e.OUTBOUND_ALLOW.split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    },
    inbound: {
      snsHosts: e.INBOUND_SNS_HOSTS.split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    },
    sweeper: { intervalMs: e.SWEEP_INTERVAL_MS, graceMs: e.SWEEP_GRACE_MS },
    replay: { maxSpanDays: e.REPLAY_MAX_SPAN_DAYS, batchSize: e.REPLAY_BATCH_SIZE },
    retention: { days: e.RETENTION_DAYS, intervalMs: e.RETENTION_INTERVAL_MS },
    tracing: {
      tracesUrl: e.OTEL_SDK_DISABLED ? undefined : tracesUrl(e),
      serviceName: e.OTEL_SERVICE_NAME,
      outboundTraceparent: e.OUTBOUND_TRACEPARENT,
    },
  });
}

/** Where spans go, by the OTLP exporter's rules: the traces endpoint as given, or the base endpoint's /v1/traces. */
function tracesUrl(e: z.infer<typeof envSchema>): string | undefined {
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return e.OTEL_EXPORTER_OTLP_ENDPOINT && `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`;
}

/** Where this Hookpost is reached from outside: PUBLIC_URL, else its own address (on `port`, the one it listens on). */
export function publicBaseUrl(
  http: Pick<Config["http"], "publicUrl" | "host" | "port">,
  port = http.port,
): string {
  const base = http.publicUrl ?? `http://${http.host === "0.0.0.0" ? "localhost" : http.host}:${port}`;
  return base.replace(/\/$/, "");
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
