import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { VERSION } from "../version.ts";
import type { SpanKind as HookpostSpanKind, Tracer } from "./tracing.ts";

/**
 * The OpenTelemetry SDK behind src/tracing/tracing.ts, loaded only when
 * tracing is on. Spans are batched and sent as OTLP/HTTP JSON to
 * `tracesUrl` (src/config.ts); the SDK reads the other standard OTEL_*
 * variables (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_BSP_*)
 * itself.
 */

const KINDS: Record<HookpostSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

export function createOtelTracer(opts: { tracesUrl: string; serviceName: string }): Tracer {
  const exporter = new OTLPTraceExporter({ url: opts.tracesUrl });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName, "service.version": VERSION }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Installs the AsyncLocalStorage context manager, which carries the active span across awaits.
  provider.register();
  const tracer = provider.getTracer("hookpost", VERSION);
  const propagator = new W3CTraceContextPropagator();

  return {
    span(name, kind, attributes, fn) {
      return tracer.startActiveSpan(
        name,
        { kind: KINDS[kind], attributes: defined(attributes) },
        async (span) => {
          try {
            return await fn({ setAttributes: (more) => span.setAttributes(defined(more)) });
          } catch (err) {
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
            throw err;
          } finally {
            span.end();
          }
        },
      );
    },
    traceparent() {
      const carrier: Record<string, string> = {};
      propagator.inject(context.active(), carrier, defaultTextMapSetter);
      return carrier.traceparent ?? null;
    },
    withTraceparent(traceparent, fn) {
      const parent = traceparent
        ? propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter)
        : ROOT_CONTEXT;
      return context.with(parent, fn);
    },
    async shutdown() {
      // Spans the collector cannot take at exit are lost; stopping goes on.
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      context.disable();
    },
  };
}

/** OpenTelemetry takes no null or undefined attribute values. */
function defined(attributes: Record<string, string | number | boolean | null | undefined>) {
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) if (value != null) kept[key] = value;
  return kept;
}
