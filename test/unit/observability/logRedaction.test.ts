import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, LOG_REDACTED } from "../../../src/logger.ts";

/** The process logger, its lines kept and parsed. */
function capturedLogger(level: "info" | "debug" = "info") {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger({ logLevel: level }, stream), lines };
}

describe("log redaction", () => {
  it("redacts credentials and signatures in headers, and secret fields, at the top and nested", () => {
    const { logger, lines } = capturedLogger();
    logger.info(
      {
        headers: {
          authorization: "Bearer hp_live_secret",
          "webhook-signature": "v1,c2lnbmF0dXJl",
          "content-type": "application/json",
        },
        secret: "whsec_top",
        endpoint: { id: "ep_1", secret: "whsec_nested", previousSecret: "whsec_old" },
        req: { headers: { authorization: "Basic dXNlcjpwYXNz", cookie: "session=1", host: "example.com" } },
        attempt: { requestHeaders: { "x-api-key": "k", "webhook-id": "evt_1" } },
        apiKey: "hp_key",
      },
      "something",
    );
    const [line] = lines;
    expect(line).toMatchObject({
      headers: {
        authorization: LOG_REDACTED,
        "webhook-signature": LOG_REDACTED,
        "content-type": "application/json",
      },
      secret: LOG_REDACTED,
      endpoint: { id: "ep_1", secret: LOG_REDACTED, previousSecret: LOG_REDACTED },
      req: { headers: { authorization: LOG_REDACTED, cookie: LOG_REDACTED, host: "example.com" } },
      attempt: { requestHeaders: { "x-api-key": LOG_REDACTED, "webhook-id": "evt_1" } },
      apiKey: LOG_REDACTED,
      msg: "something",
    });
    const text = JSON.stringify(line);
    for (const secret of ["hp_live_secret", "c2lnbmF0dXJl", "whsec_", "dXNlcjpwYXNz", "hp_key"])
      expect(text).not.toContain(secret);
  });

  it("logs an error with its type, message and stack", () => {
    const { logger, lines } = capturedLogger();
    logger.error({ err: new TypeError("x is undefined") }, "unexpected error");
    expect(lines[0]).toMatchObject({
      level: 50,
      err: {
        type: "TypeError",
        message: "x is undefined",
        stack: expect.stringContaining("logRedaction.test.ts"),
      },
    });
  });
});
