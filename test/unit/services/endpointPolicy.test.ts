import { describe, expect, it } from "vitest";
import { deliveryPolicyData } from "../../../src/services/endpointPolicy.ts";

describe("deliveryPolicyData", () => {
  it("sets what an input gives, keeps what it leaves out, and sets null back to the server's default", () => {
    expect(deliveryPolicyData({})).toEqual({});
    expect(
      deliveryPolicyData({
        retrySchedule: ["5s", "10s", "20s"],
        retryForSeconds: 86_400,
        rateLimitPerSecond: 20,
      }),
    ).toEqual({ retryScheduleMs: [5_000, 10_000, 20_000], retryForSeconds: 86_400, rateLimitPerSecond: 20 });
    expect(
      deliveryPolicyData({ retrySchedule: null, retryForSeconds: null, rateLimitPerSecond: null }),
    ).toEqual({
      retryScheduleMs: [],
      retryForSeconds: null,
      rateLimitPerSecond: null,
    });
  });

  it("refuses bad values with BAD_USER_INPUT naming the field", () => {
    const refusal = (input: Parameters<typeof deliveryPolicyData>[0]) => {
      try {
        deliveryPolicyData(input);
      } catch (err) {
        return (err as { extensions: Record<string, unknown> }).extensions;
      }
      throw new Error("accepted");
    };
    expect(refusal({ retrySchedule: ["later"] })).toEqual({ code: "BAD_USER_INPUT", field: "retrySchedule" });
    expect(refusal({ retryForSeconds: 1.5 })).toEqual({ code: "BAD_USER_INPUT", field: "retryForSeconds" });
    expect(refusal({ rateLimitPerSecond: 0 })).toEqual({
      code: "BAD_USER_INPUT",
      field: "rateLimitPerSecond",
    });
  });
});
