/**
 * The one map from queue name to job payload, shared by producers (api) and
 * workers. Jobs carry ids only: the database is the source of truth, so every
 * job is safe to run twice.
 */
export type JobPayloads = {
  /** `traceparent`: the span that scheduled this run, while tracing is on. */
  delivery: { deliveryId: string; traceparent?: string };
  replay: { replayId: string };
  /** A probe names its endpoint; pruning takes nothing. */
  maintenance: { endpointId?: string };
};
export type QueueName = keyof JobPayloads;

export const JOB = {
  deliver: "deliver",
  runReplay: "run-replay",
  sweep: "sweep",
  prune: "prune",
  probeEndpoint: "probe-endpoint",
} as const;
