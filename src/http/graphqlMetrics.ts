import {
  createCounter,
  createHistogram,
  type FillLabelsFnParams,
  usePrometheus,
} from "@graphql-yoga/plugin-prometheus";
import { registry } from "../metrics.ts";

/** The series yoga's plugin registers, once a yoga that uses it starts. */
export const GRAPHQL_SERIES = {
  operations: "hookpost_graphql_operations_total",
  duration: "hookpost_graphql_operation_duration_seconds",
  errors: "hookpost_graphql_errors_total",
} as const;

/**
 * Distinct operation names a process labels its series with; later ones are
 * counted as "other". Clients choose the names, and each new one would be a
 * series kept for the process's life.
 */
export const MAX_OPERATION_NAMES = 200;

/** The operation name as a label: itself while fewer than MAX_OPERATION_NAMES were seen, else "other". */
export function operationNameLabel(seen: Set<string>, name: string | undefined): string {
  const label = name ?? "Anonymous";
  if (seen.has(label)) return label;
  if (seen.size >= MAX_OPERATION_NAMES) return "other";
  seen.add(label);
  return label;
}

const seenOperationNames = new Set<string>();

const operationLabels = (params: FillLabelsFnParams) => ({
  operationType: params.operationType ?? "unknown",
  operationName: operationNameLabel(seenOperationNames, params.operationName),
});

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
    metrics: {
      graphql_envelop_request: createCounter({
        registry,
        counter: {
          name: GRAPHQL_SERIES.operations,
          help: "GraphQL operations executed by this api process, by operation type and name.",
          labelNames: ["operationType", "operationName"],
        },
        fillLabelsFn: operationLabels,
      }),
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: GRAPHQL_SERIES.duration,
          help: "Time from parse to the end of execution of a GraphQL operation.",
          labelNames: ["operationType", "operationName"],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        },
        fillLabelsFn: operationLabels,
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: GRAPHQL_SERIES.errors,
          help: "Errors GraphQL operations returned, by the phase that raised them.",
          labelNames: ["operationType", "operationName", "phase"],
        },
        fillLabelsFn: (params) => ({ ...operationLabels(params), phase: params.errorPhase ?? "unknown" }),
      }),
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
