import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import { registry } from "../metrics.ts";

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
      graphql_envelop_request: "hookpost_graphql_operations_total",
      graphql_envelop_request_duration: "hookpost_graphql_operation_duration_seconds",
      graphql_envelop_error_result: "hookpost_graphql_errors_total",
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
