import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import { WebSocket } from "ws";

/** What a subscription has received so far, whatever the transport. `open`: the server has taken it. */
export type Live<T> = { data: T[]; errors: unknown[]; open: boolean; ended: boolean; stop(): void };

export function collector<T>() {
  const live: Live<T> = { data: [], errors: [], open: false, ended: false, stop: () => {} };
  const onResult = (result: { data?: unknown; errors?: readonly unknown[] }) => {
    if (result.errors?.length) live.errors.push(...result.errors);
    else live.data.push(result.data as T);
  };
  return { live, onResult };
}

export function wsClient(apiUrl: string, authorization: string | null): Client {
  return createClient({
    url: apiUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : undefined,
    retryAttempts: 0,
  });
}

export function wsSubscribe<T, V>(client: Client, document: TypedDocumentNode<T, V>, variables: V): Live<T> {
  const { live, onResult } = collector<T>();
  client.on("connected", () => {
    live.open = true;
  });
  live.stop = client.subscribe(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: onResult,
      error: (err) => {
        live.errors.push(err);
        live.ended = true;
      },
      complete: () => {
        live.ended = true;
      },
    },
  );
  return live;
}
