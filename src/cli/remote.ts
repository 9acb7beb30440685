// How the remote commands (endpoints, replay, tail) talk to a running api: GraphQL over
// HTTP for queries and mutations, graphql-ws for subscriptions.
import { StartupError } from "../startupError.ts";

/** Where `hookpost start` listens by default (PORT 4000). */
export const DEFAULT_API_URL = "http://127.0.0.1:4000/graphql";

/** Where the api is and the credential sent to it. */
export type Remote = { url: string; authorization: string | null };

/** A failure to reach the api or an error it answered: printed as one line, exit status 1. */
export class RemoteError extends StartupError {}

/** A WebSocket that could not be opened or was lost; `reason` says why, in graphql-ws's words. */
export class ConnectionError extends RemoteError {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The api named by HOOKPOST_URL and the key in HOOKPOST_API_KEY (a `--url` or `--api-key` flag wins). */
export function remoteFrom(
  flags: { url?: string | undefined; "api-key"?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Remote {
  const key = flags["api-key"] ?? env.HOOKPOST_API_KEY;
  return {
    url: flags.url ?? env.HOOKPOST_URL ?? DEFAULT_API_URL,
    authorization: key ? `Bearer ${key}` : null,
  };
}

type GraphqlAnswer<T> = { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };

function failure(remote: Remote, errors: NonNullable<GraphqlAnswer<unknown>["errors"]>): RemoteError {
  const [first] = errors;
  const code = first?.extensions?.code ? ` (${first.extensions.code})` : "";
  return new RemoteError(`${remote.url} answered: ${first?.message ?? "an error"}${code}`);
}

/** Runs one query or mutation and returns its data; any error becomes a RemoteError. */
export async function request<T>(
  remote: Remote,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(remote.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(remote.authorization ? { authorization: remote.authorization } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new RemoteError(
      `cannot reach ${remote.url} (${cause?.code ?? cause?.message ?? (err as Error).message}); set HOOKPOST_URL`,
    );
  }
  const answer = (await response.json().catch(() => ({}))) as GraphqlAnswer<T>;
  if (answer.errors?.length) throw failure(remote, answer.errors);
  if (!answer.data) throw new RemoteError(`${remote.url} answered HTTP ${response.status} without data`);
  return answer.data;
}

export type Subscription = {
  /** Settles when the server ends the subscription (resolves) or it fails (rejects). */
  done: Promise<void>;
  stop(): void;
};

/**
 * Subscribes over graphql-ws and calls `onData` with every result. `onOpen`
 * runs once the server has accepted the connection.
 */
export async function subscribe<T>(
  remote: Remote,
  query: string,
  variables: Record<string, unknown>,
  handlers: { onData(data: T): void; onOpen?(): void },
): Promise<Subscription> {
  // Loaded here: only the commands that subscribe need a WebSocket client.
  const [{ createClient }, { WebSocket }] = await Promise.all([import("graphql-ws"), import("ws")]);
  const client = createClient({
    url: remote.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: remote.authorization ? { authorization: remote.authorization } : undefined,
    retryAttempts: 0,
    on: { connected: () => handlers.onOpen?.() },
  });
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(failure(remote, [...result.errors]));
          else if (result.data) handlers.onData(result.data);
        },
        error: (err) => reject(subscriptionError(remote, err)),
        complete: resolve,
      },
    );
  }).finally(() => client.dispose());
  return {
    done,
    stop: () => {
      stop();
    },
  };
}

/** graphql-ws reports a refused or lost connection as an ErrorEvent, a CloseEvent or a list of GraphQL errors. */
function subscriptionError(remote: Remote, err: unknown): RemoteError {
  if (Array.isArray(err)) return failure(remote, err);
  const { message, code, reason } = err as { message?: unknown; code?: number; reason?: string };
  if (typeof message === "string")
    return new ConnectionError(`cannot reach ${remote.url} (${message}); set HOOKPOST_URL`, message);
  return new RemoteError(`${remote.url} closed the connection: ${reason || "no reason given"} (${code})`);
}
