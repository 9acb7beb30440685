import type { DeliveryAttempt } from "../../src/db/generated/client.ts";
import type { AttemptWrite } from "../../src/services/attemptWriter.ts";

/** What the worker records for a successful first attempt: the delivery SUCCEEDED when the attempt was made. */
export function successWrite(attempt: DeliveryAttempt): AttemptWrite {
  return {
    attempt,
    change: {
      status: "SUCCEEDED",
      retryStep: 0,
      nextAttemptAt: null,
      trigger: "SCHEDULED",
      lastResponseStatus: 200,
      lastError: null,
      succeededAt: attempt.createdAt,
    },
    claimedBy: null,
  };
}
