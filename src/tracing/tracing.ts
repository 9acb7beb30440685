import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";

/**
 * Traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set. The code that makes
 * spans calls these functions whatever the setting; while tracing is off they
 * only call through, and no OpenTelemetry module is loaded at all
 * (src/tracing/otel.ts is imported on start, when tracing is on).
 */

export type SpanAttributes = Record<string, string | number | boolean | null | undefined>;
export type SpanKind = "server" | "client" | "producer" | "consumer" | "internal";

/** What a traced function may add to its span once it knows more (a status code, an outcome). */
export type SpanHandle = { setAttributes(attributes: SpanAttributes): void };

export type Tracer = {
  span<T>(
    name: string,
    kind: SpanKind,
    attributes: SpanAttributes,
    fn: (span: SpanHandle) => Promise<T>,
  ): Promise<T>;
  /** The active span's W3C `traceparent`, or null outside any span. */
  traceparent(): string | null;
  /**
   * Runs `fn` with the span that `traceparent` names as the parent of the
   * spans it makes; with none (or an invalid one), outside any trace, so work
   * started from another's callback does not join that other's trace.
   */
  withTraceparent<T>(traceparent: string | null | undefined, fn: () => T): T;
  /** Exports what is left and stops. */
  shutdown(): Promise<void>;
};

const NO_SPAN: SpanHandle = { setAttributes() {} };

const OFF: Tracer = {
  span: (_name, _kind, _attributes, fn) => fn(NO_SPAN),
  traceparent: () => null,
  withTraceparent: (_traceparent, fn) => fn(),
  shutdown: async () => {},
};

let active: Tracer = OFF;
/** Hookposts started in this process that asked for tracing (a test file may start several). */
let users = 0;

/** Runs `fn` in a new span, a child of the active one. */
export function traced<T>(
  name: string,
  kind: SpanKind,
  attributes: SpanAttributes,
  fn: (span: SpanHandle) => Promise<T>,
): Promise<T> {
  return active.span(name, kind, attributes, fn);
}

export function currentTraceparent(): string | null {
  return active.traceparent();
}

export function withTraceparent<T>(traceparent: string | null | undefined, fn: () => T): T {
  return active.withTraceparent(traceparent, fn);
}

export function isTracing(): boolean {
  return active !== OFF;
}

/** Turns tracing on for this process when the config asks for it; the first config to do so sets it up. */
export async function startTracing(config: Config, logger: Logger): Promise<void> {
  const { tracesUrl, serviceName } = config.tracing;
  if (!tracesUrl) return;
  users += 1;
  if (active !== OFF) return;
  const { createOtelTracer } = await import("./otel.ts");
  active = createOtelTracer({ tracesUrl, serviceName });
  logger.info({ tracesUrl, serviceName }, "tracing on: spans are exported over OTLP/HTTP");
}

/** Flushes and stops tracing once the last Hookpost that asked for it stops. */
export async function stopTracing(config: Config): Promise<void> {
  if (!config.tracing.tracesUrl || users === 0) return;
  users -= 1;
  if (users > 0) return;
  const stopping = active;
  active = OFF;
  await stopping.shutdown();
}
