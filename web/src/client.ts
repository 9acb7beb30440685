import { createClient as createWsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import type { Session } from "./auth.ts";

/** Queries and mutations over HTTP, subscriptions over graphql-ws, all to /graphql on this origin. */
export function createApiClient(session: Session, onClose: (code: number) => void) {
  const authorization = `Bearer ${session.credential}`;
  const wsUrl = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/graphql`;
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 5,
    // 4401/4403: the credential is refused; signing in again is the way out, not retrying.
    shouldRetry: (event) => !(event instanceof CloseEvent && (event.code === 4401 || event.code === 4403)),
    on: { closed: (event) => onClose(event instanceof CloseEvent ? event.code : 0) },
  });
  const client = new Client({
    url: "/graphql",
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization } }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }),
          };
        },
      }),
    ],
  });
  return { client, dispose: () => ws.dispose() };
}
