import { Writable } from "node:stream";
import { createSchema, createYoga } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import { maskErrorFor } from "../../../src/http/errorMasking.ts";
import { useRequestIds } from "../../../src/http/requestIds.ts";
import { createLogger } from "../../../src/logger.ts";

/** yoga with the request-id plugin and Hookpost's error masking, over a schema with a failing field. */
function app() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = createLogger({ logLevel: "debug" }, stream);
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: "type Query { ok: Boolean!, broken: Boolean! }",
      resolvers: {
        Query: {
          ok: () => true,
          broken: () => {
            throw new TypeError("x is undefined");
          },
        },
      },
    }),
    logging: false,
    maskedErrors: { maskError: maskErrorFor(logger) },
    plugins: [useRequestIds(logger)],
  });
  const post = (query: string, headers: Record<string, string> = {}) =>
    yoga.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ query }),
    });
  return { post, lines };
}

describe("request ids", () => {
  it("echoes the caller's x-request-id, and logs the request with it", async () => {
    const { post, lines } = app();
    const res = await post("{ ok }", { "x-request-id": "req-42.a:b" });
    expect(res.headers.get("x-request-id")).toBe("req-42.a:b");
    expect(lines).toContainEqual(
      expect.objectContaining({ requestId: "req-42.a:b", msg: "graphql request" }),
    );
  });

  it("makes a UUID when the caller sends none, or one that could forge a log line", async () => {
    const { post } = app();
    const uuid = /^[0-9a-f-]{36}$/;
    expect((await post("{ ok }")).headers.get("x-request-id")).toMatch(uuid);
    const forged = await post("{ ok }", { "x-request-id": `a"}\\n{"level":60` });
    expect(forged.headers.get("x-request-id")).toMatch(uuid);
  });

  it("logs an unexpected error with its stack under the request's id, which the client is shown", async () => {
    const { post, lines } = app();
    const res = await post("{ broken }", { "x-request-id": "req-broken" });
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({
      code: "INTERNAL_SERVER_ERROR",
      requestId: "req-broken",
    });
    expect(lines).toContainEqual(
      expect.objectContaining({
        requestId: "req-broken",
        msg: "unexpected error",
        err: expect.objectContaining({ stack: expect.stringContaining("TypeError: x is undefined") }),
      }),
    );
  });
});
