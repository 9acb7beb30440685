import type { DeliveryAttempt } from "../../src/db/generated/client.ts";
import type { AttemptWrite, HealthPolicy } from "../../src/services/attemptWriter.ts";

/** Endpoint health as the defaults have it. */
export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  circuitFailureThreshold: 10,
  circuitCooldownMs: 30_000,
  disableAfterFailedDeliveries: 20,
  disableAfterMs: 5 * 86_400_000,
};

/** What the worker records for a successful first attempt: the delivery SUCCEEDED when the attempt was made. */
export function successWrite(attempt: DeliveryAttempt): AttemptWrite {
  return {
    attempt,
    change: {
      status: "SUCCEEDED",
      retryStep: 0,
      nextAttemptAt: null,
      firstAttemptAt: attempt.startedAt,
      trigger: "SCHEDULED",
      lastResponseStatus: 200,
      lastError: null,
      succeededAt: attempt.createdAt,
    },
    failedForGood: false,
    claimedBy: null,
  };
}
