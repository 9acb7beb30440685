import {
  checkWholeNumber,
  type EndpointPolicy,
  MAX_RATE_PER_S,
  MAX_RETRY_FOR_S,
  parseRetrySchedule,
} from "../delivery/endpointPolicy.ts";
import { badInput } from "../errors.ts";

/** An endpoint's delivery policy as create and update take it: left out, kept; null, the server's default. */
export type DeliveryPolicyInput = {
  retrySchedule?: readonly string[] | null;
  retryForSeconds?: number | null;
  rateLimitPerSecond?: number | null;
};

type DeliveryPolicyData = Partial<Omit<EndpointPolicy, "retryScheduleMs"> & { retryScheduleMs: number[] }>;

/** The policy columns an input sets, checked; BAD_USER_INPUT names the field at fault. */
export function deliveryPolicyData(input: DeliveryPolicyInput): DeliveryPolicyData {
  const data: DeliveryPolicyData = {};
  const { retrySchedule, retryForSeconds, rateLimitPerSecond } = input;
  if (retrySchedule !== undefined)
    data.retryScheduleMs =
      retrySchedule === null ? [] : acceptedOrThrow(parseRetrySchedule(retrySchedule), "retrySchedule");
  if (retryForSeconds !== undefined)
    data.retryForSeconds =
      retryForSeconds === null
        ? null
        : acceptedOrThrow(
            checkWholeNumber("retryForSeconds", retryForSeconds, 0, MAX_RETRY_FOR_S),
            "retryForSeconds",
          );
  if (rateLimitPerSecond !== undefined)
    data.rateLimitPerSecond =
      rateLimitPerSecond === null
        ? null
        : acceptedOrThrow(
            checkWholeNumber("rateLimitPerSecond", rateLimitPerSecond, 1, MAX_RATE_PER_S),
            "rateLimitPerSecond",
          );
  return data;
}

function acceptedOrThrow<T>(
  parsed: { ok: true; value: T } | { ok: false; reason: string },
  field: string,
): T {
  if (!parsed.ok) throw badInput(parsed.reason, field);
  return parsed.value;
}
