import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import type { GqlResult } from "./graphql.ts";

// biome-ignore lint/suspicious/noExplicitAny: untyped operations, read field by field by each test
export type Untyped = any;

/** An HTTP answer to a GraphQL request, with what the transport said besides the body. */
export type RawAnswer = { status: number; retryAfter: string | null; body: GqlResult<Untyped> };

/** POSTs an operation given as text (for operations no typed document covers) and keeps the HTTP details. */
export async function postGraphql(
  url: string,
  authorization: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<RawAnswer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: (await res.json()) as GqlResult<Untyped>,
  };
}

/** An operation given as text, for the WebSocket helpers that take documents. */
export const untypedDocument = (query: string) =>
  parse(query) as unknown as TypedDocumentNode<Untyped, Record<string, unknown>>;
