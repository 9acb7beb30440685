import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import { registry } from "../metrics.ts";

/** The series yoga's plugin registers, once a yoga that uses it starts. */
export const GRAPHQL_SERIES = {
  operations: "hookpost_graphql_operations_total",
  duration: "hookpost_graphql_operation_duration_seconds",
  errors: "hookpost_graphql_errors_total",
} as const;

/**
 * GraphQL operation metrics in the process registry, named like Hookpost's
 * own: operations and errors counted, and their duration, by operation type
 * and name. Per-resolver timing, the summaries, the deprecated-field walk and
 * the HTTP histogram (labelled by full URL) stay off: each costs every request.
 */
export function useGraphqlMetrics() {
  return usePrometheus({
    registry,
    endpoint: false,
    labels: { path: false },
    metrics: {
      graphql_envelop_request: GRAPHQL_SERIES.operations,
      graphql_envelop_request_duration: GRAPHQL_SERIES.duration,
      graphql_envelop_error_result: GRAPHQL_SERIES.errors,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_schema_change: false,
      graphql_envelop_execute_resolver: false,
      graphql_yoga_http_duration: false,
    },
  });
}
