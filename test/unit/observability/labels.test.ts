import { afterAll, describe, expect, it } from "vitest";
import { createHttpSender, type SendResult } from "../../../src/delivery/httpSender.ts";
import { MAX_OPERATION_NAMES, operationNameLabel } from "../../../src/http/graphqlMetrics.ts";
import { attemptOutcomeLabel } from "../../../src/metrics.ts";

const answered = (status: number): Pick<SendResult, "status" | "outcome" | "refused"> => ({
  status,
  outcome: { kind: "http", status, retryAfter: undefined },
});

describe("attemptOutcomeLabel", () => {
  it("labels an answer by its status class", () => {
    expect([200, 204, 299].map((s) => attemptOutcomeLabel(answered(s)))).toEqual(["2xx", "2xx", "2xx"]);
    expect([301, 302, 308].map((s) => attemptOutcomeLabel(answered(s)))).toEqual(["3xx", "3xx", "3xx"]);
    expect([400, 410, 429].map((s) => attemptOutcomeLabel(answered(s)))).toEqual(["4xx", "4xx", "4xx"]);
    expect([500, 503, 599].map((s) => attemptOutcomeLabel(answered(s)))).toEqual(["5xx", "5xx", "5xx"]);
  });

  it("labels no answer by why: timeout, network, or refused by the SSRF guard", () => {
    expect(attemptOutcomeLabel({ status: null, outcome: { kind: "timeout" } })).toBe("timeout");
    // A timeout after the status line came is still a timeout.
    expect(attemptOutcomeLabel({ status: 200, outcome: { kind: "timeout" } })).toBe("timeout");
    expect(attemptOutcomeLabel({ status: null, outcome: { kind: "network" } })).toBe("network");
    expect(attemptOutcomeLabel({ status: null, outcome: { kind: "network" }, refused: true })).toBe(
      "refused",
    );
  });
});

describe("the sender marks what the SSRF guard refused", () => {
  const sender = createHttpSender({ timeoutMs: 2_000, responseBodyLimitBytes: 1_024, outboundAllow: [] });
  afterAll(() => sender.close());
  const send = (url: string) => sender.send({ url, headers: {}, body: "{}" });

  it("refuses a private IP literal and a name that resolves to loopback", async () => {
    for (const url of ["http://10.255.255.1/hooks", "http://169.254.169.254/", "http://localhost:1/hooks"]) {
      const result = await send(url);
      expect(result.refused, url).toBe(true);
      expect(attemptOutcomeLabel(result), url).toBe("refused");
    }
  });

  it("does not call a connection failure to an allowed address a refusal", async () => {
    const allowing = createHttpSender({
      timeoutMs: 2_000,
      responseBodyLimitBytes: 1_024,
      outboundAllow: ["127.0.0.0/8"],
    });
    try {
      const result = await allowing.send({ url: "http://127.0.0.1:1/hooks", headers: {}, body: "{}" });
      expect(result.refused).toBeUndefined();
      expect(attemptOutcomeLabel(result)).toBe("network");
    } finally {
      await allowing.close();
    }
  });
});

describe("operationNameLabel", () => {
  it("keeps the first MAX_OPERATION_NAMES names, then counts new ones as other", () => {
    const seen = new Set<string>();
    for (let i = 0; i < MAX_OPERATION_NAMES; i++) expect(operationNameLabel(seen, `Op${i}`)).toBe(`Op${i}`);
    expect(operationNameLabel(seen, "OneTooMany")).toBe("other");
    expect(operationNameLabel(seen, "Op7")).toBe("Op7");
    expect(operationNameLabel(new Set(), undefined)).toBe("Anonymous");
  });
});
