import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";

const tracingOf = (env: Record<string, string>) => loadConfig(env).tracing;

describe("tracing settings", () => {
  it("are off with no endpoint, and send traceparent by default once on", () => {
    expect(tracingOf({})).toEqual({
      tracesUrl: undefined,
      serviceName: "hookpost",
      outboundTraceparent: true,
    });
  });

  it("export to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces, or to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given", () => {
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracesUrl).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(
      tracingOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/otlp/traces",
      }).tracesUrl,
    ).toBe("https://traces.example.com/otlp/traces");
  });

  it("stay off with OTEL_SDK_DISABLED, and OUTBOUND_TRACEPARENT=false stops the header", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" };
    expect(tracingOf(env).tracesUrl).toBeUndefined();
    expect(tracingOf({ OUTBOUND_TRACEPARENT: "false", OTEL_SERVICE_NAME: "hookpost-worker" })).toMatchObject({
      outboundTraceparent: false,
      serviceName: "hookpost-worker",
    });
  });
});
