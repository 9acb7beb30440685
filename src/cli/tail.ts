// `hookpost tail`: prints every delivery attempt of the workspace as it is recorded.
import { listFlag, parseCommandArgs } from "./args.ts";
import { remoteFrom, subscribe } from "./remote.ts";
import { TAIL_USAGE } from "./usage.ts";
import { UsageError } from "./usageError.ts";

const DELIVERY_ATTEMPTS = `subscription CliTail($endpointId: ID, $eventTypes: [String!]) {
  deliveryAttempts(endpointId: $endpointId, eventTypes: $eventTypes) {
    startedAt number succeeded responseStatus error durationMs url deliveryId
    event { id type }
  }
}`;

type AttemptLine = {
  startedAt: string;
  number: number;
  succeeded: boolean;
  responseStatus: number | null;
  error: string | null;
  durationMs: number;
  url: string;
  deliveryId: string;
  event: { id: string; type: string };
};

/** `2026-…Z  evt_…  email.sent  #1  200 ok  12ms  https://…  dlv_…`. */
export function attemptLine(attempt: AttemptLine): string {
  const outcome = `${attempt.responseStatus ?? "---"} ${attempt.succeeded ? "ok" : "failed"}`;
  const error = attempt.error ? `  ${attempt.error}` : "";
  return (
    [
      attempt.startedAt,
      attempt.event.id,
      attempt.event.type,
      `#${attempt.number}`,
      outcome,
      `${attempt.durationMs}ms`,
      attempt.url,
      attempt.deliveryId,
    ].join("  ") + error
  );
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    endpoint: { type: "string" },
    type: { type: "string", multiple: true },
  });
  if (positionals.length > 0) throw new UsageError(`Usage: hookpost\n${TAIL_USAGE}`);
  const remote = remoteFrom(values);
  const subscription = await subscribe<{ deliveryAttempts: AttemptLine }>(
    remote,
    DELIVERY_ATTEMPTS,
    { endpointId: values.endpoint, eventTypes: listFlag(values.type) },
    {
      onOpen: () => process.stderr.write(`tailing delivery attempts from ${remote.url} (Ctrl-C stops)\n`),
      onData: ({ deliveryAttempts }) => process.stdout.write(`${attemptLine(deliveryAttempts)}\n`),
    },
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => subscription.stop());
  await subscription.done;
  return 0;
}
