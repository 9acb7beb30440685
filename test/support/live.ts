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

/** graphql-yoga's SSE ("distinct connections"): one POST per subscription, `event: next` blocks until `complete`. */
export function sseSubscribe<T, V>(
  apiUrl: string,
  authorization: string | null,
  document: TypedDocumentNode<T, V>,
  variables: V,
): Live<T> {
  const { live, onResult } = collector<T>();
  const abort = new AbortController();
  live.stop = () => abort.abort();
  const read = async () => {
    const res = await fetch(apiUrl, {
      method: "POST",
      signal: abort.signal,
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...(authorization ? { authorization } : {}),
      },
      body: JSON.stringify({ query: print(document), variables }),
    });
    live.open = true;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffered += decoder.decode(chunk.value, { stream: true });
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event === "next" && data) onResult(JSON.parse(data));
      }
    }
  };
  read().then(
    () => {
      live.ended = true;
    },
    (err: Error) => {
      if (!abort.signal.aborted) live.errors.push(err);
      live.ended = true;
    },
  );
  return live;
}
