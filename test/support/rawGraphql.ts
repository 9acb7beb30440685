import type { GqlError } from "./graphql.ts";

export type RawAnswer = { status: number; body: { data?: unknown; errors?: GqlError[] } };

/** POSTs any query and variables, typed or not, and returns the HTTP status with the parsed body. */
export function postGraphql(
  url: string,
  authorization: string | null,
  query: string,
  variables?: unknown,
): Promise<RawAnswer> {
  return postBody(url, authorization, JSON.stringify({ query, variables }));
}

/** POSTs a request body as it is (e.g. one too deep for JSON.stringify). */
export async function postBody(url: string, authorization: string | null, body: string): Promise<RawAnswer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body,
  });
  return { status: res.status, body: (await res.json()) as RawAnswer["body"] };
}
