import { type IncomingHttpHeaders, request } from "node:http";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import type { GqlResult } from "./graphql.ts";

// biome-ignore lint/suspicious/noExplicitAny: untyped operations, read field by field by each test
export type Untyped = any;

/** An HTTP answer to a GraphQL request, with what the transport said besides the body. */
export type RawAnswer = {
  status: number;
  headers: IncomingHttpHeaders;
  retryAfter: string | null;
  body: GqlResult<Untyped>;
};

/** An operation given as text, for the WebSocket helpers that take documents. */
export const untypedDocument = (query: string) =>
  parse(query) as unknown as TypedDocumentNode<Untyped, Record<string, unknown>>;

/** POSTs any query and variables, typed or not, and returns the HTTP status with the parsed body. */
export function postGraphql(
  url: string,
  authorization: string | null,
  query: string,
  variables?: unknown,
): Promise<RawAnswer> {
  return postBody(url, authorization, JSON.stringify({ query, variables }));
}

/**
 * POSTs a request body as it is (e.g. one too deep for JSON.stringify), on a
 * connection of its own: one kept alive after a body of megabytes may be
 * closed by the server just as the next request goes out on it.
 */
export function postBody(url: string, authorization: string | null, body: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { "content-type": "application/json", ...(authorization ? { authorization } : {}) };
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        try {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            retryAfter: (res.headers["retry-after"] as string | undefined) ?? null,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
          });
        } catch (err) {
          reject(err);
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
