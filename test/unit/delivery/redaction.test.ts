import { describe, expect, it } from "vitest";
import { isSensitiveHeader, REDACTED_VALUE, redactHeaders } from "../../../src/delivery/redaction.ts";

describe("redactHeaders", () => {
  it("hides the values of marked headers and of credential headers, whatever their case", () => {
    const sent = {
      "content-type": "application/json",
      "webhook-id": "evt_1",
      "x-tenant": "acme",
      "x-shared-secret": "s3cret",
      authorization: "Bearer receiver-token",
      Cookie: "session=1",
      "x-api-key": "key",
      "proxy-authorization": "Basic abc",
      "set-cookie": "a=b",
    };
    expect(redactHeaders(sent, ["x-shared-secret"])).toEqual({
      "content-type": "application/json",
      "webhook-id": "evt_1",
      "x-tenant": "acme",
      "x-shared-secret": REDACTED_VALUE,
      authorization: REDACTED_VALUE,
      Cookie: REDACTED_VALUE,
      "x-api-key": REDACTED_VALUE,
      "proxy-authorization": REDACTED_VALUE,
      "set-cookie": REDACTED_VALUE,
    });
  });

  it("leaves the headers that are sent untouched", () => {
    const sent = { authorization: "Bearer t", "x-shared-secret": "s" };
    redactHeaders(sent, ["x-shared-secret"]);
    expect(sent).toEqual({ authorization: "Bearer t", "x-shared-secret": "s" });
  });

  it("returns the same object when nothing is sensitive (no copy per attempt)", () => {
    const sent = { "content-type": "application/json", "x-tenant": "acme" };
    expect(redactHeaders(sent, [])).toBe(sent);
  });

  it("knows the default credential names", () => {
    expect(isSensitiveHeader("Authorization", [])).toBe(true);
    expect(isSensitiveHeader("x-tenant", [])).toBe(false);
    expect(isSensitiveHeader("X-Tenant", ["x-tenant"])).toBe(true);
  });
});
