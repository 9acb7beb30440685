import { Writable } from "node:stream";
import { GraphQLError } from "graphql";
import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { badInput } from "../../../src/errors.ts";
import { isOutage, maskErrorFor } from "../../../src/http/errorMasking.ts";
import { freePort } from "../../support/processes.ts";

/** A pino logger whose lines are kept, parsed. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

/** What a resolver's throw looks like once graphql-js has located it. */
const located = (err: Error) => new GraphQLError(err.message, { originalError: err, path: ["publishEvent"] });

describe("maskErrorFor", () => {
  it("masks an unexpected error, and logs it with its stack and the request id the client sees", async () => {
    const { logger, lines } = capturedLogger();
    const masked = maskErrorFor(logger)(located(new TypeError("x is undefined")), "Unexpected error.");
    expect(masked).toMatchObject({
      message: "Unexpected error.",
      extensions: { code: "INTERNAL_SERVER_ERROR", requestId: expect.any(String) },
    });
    await new Promise((r) => setImmediate(r));
    expect(lines).toMatchObject([
      {
        level: 50,
        msg: "unexpected error",
        requestId: (masked as GraphQLError).extensions.requestId,
        err: { type: "TypeError", message: "x is undefined", stack: expect.stringContaining("TypeError") },
      },
    ]);
  });

  it("keeps a coded error, and codes an uncoded one the client caused", () => {
    const { logger, lines } = capturedLogger();
    const mask = maskErrorFor(logger);
    const coded = badInput("no");
    expect(mask(coded, "Unexpected error.")).toBe(coded);
    expect(mask(new GraphQLError("Syntax Error: Expected Name"), "Unexpected error.")).toMatchObject({
      extensions: { code: "BAD_USER_INPUT" },
    });
    expect(lines).toEqual([]);
  });

  it("answers SERVICE_UNAVAILABLE for a Redis that cannot be reached", async () => {
    // A producer connection as src/redis.ts makes one, to a port nobody listens on.
    const redis = new Redis({
      port: await freePort(),
      enableOfflineQueue: false,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    redis.on("error", () => {});
    const refused = await redis.get("k").catch((err: Error) => err);
    redis.disconnect();
    expect(refused).toBeInstanceOf(Error);
    expect(isOutage(refused)).toBe(true);
    const { logger } = capturedLogger();
    expect(maskErrorFor(logger)(located(refused as Error), "Unexpected error.")).toMatchObject({
      extensions: { code: "SERVICE_UNAVAILABLE", retryAfterSeconds: 5 },
    });
  });

  it("does not take an ordinary failure for an outage", () => {
    expect(isOutage(new Error("Unique constraint failed"))).toBe(false);
    expect(isOutage(new RangeError("Maximum call stack size exceeded"))).toBe(false);
  });
});
