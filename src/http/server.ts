import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type execute, GraphQLError, type subscribe } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { createYoga, type YogaInitialContext } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Deps } from "../deps.ts";
import type { Context } from "../schema/builder.ts";
import { schema } from "../schema/index.ts";
import type { Authenticate } from "../services/auth.ts";
import { useOperationSpans } from "../tracing/graphql.ts";
import { isTracing } from "../tracing/tracing.ts";
import { useRequestBodyLimit } from "./bodyLimit.ts";
import { maskErrorFor } from "./errorMasking.ts";
import { useGraphqlMetrics } from "./graphqlMetrics.ts";
import { healthRoutes, type Probe, serveRoute } from "./health.ts";
import { INBOUND_PATH, serveInbound } from "./inbound.ts";
import { useInputChecks } from "./inputChecks.ts";
import { listen } from "./listen.ts";
import { useOperationLimits } from "./operationLimits.ts";
import { usePortalAccess } from "./portalAccess.ts";
import { useRequestIds } from "./requestIds.ts";
import { webApp } from "./webApp.ts";

type ServerContext = { req?: IncomingMessage; connectionParams?: Record<string, unknown> };

/** graphql-ws clients send their credential as `connectionParams.authorization`. */
function authorizationParam(params: Record<string, unknown> | undefined): string | null {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === "string" && value !== "" ? value : null;
}

function authorizationOf(ctx: YogaInitialContext & ServerContext): string | null {
  return authorizationParam(ctx.connectionParams) ?? ctx.request.headers.get("authorization");
}

/** The peer's address: failed authentications are counted per address (behind a proxy, the proxy's). */
const clientAddressOf = (req: IncomingMessage | undefined) => req?.socket.remoteAddress ?? "unknown";

/** graphql-ws close code for a client refused by a rate limit: like HTTP 429, it may come back later. */
const CLOSE_RATE_LIMITED = 4429;

/** SSE responses stay open until the client leaves; shutdown has to end them. */
const wantsEventStream = (req: IncomingMessage) => req.headers.accept?.includes("text/event-stream") ?? false;

/**
 * The api process: graphql-yoga on /graphql (queries, mutations, GraphiQL,
 * SSE subscriptions), graphql-ws on the same path, health/metrics routes, and
 * the built web app on every other GET path (src/http/webApp.ts).
 * WebSocket and HTTP share one context factory (auth included) through
 * yoga.getEnveloped.
 */
export function buildApp(deps: Deps, authenticate: Authenticate, probe: Probe) {
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: { title: "Hookpost", subscriptionsProtocol: "WS" },
    // GraphiQL served from the package, not a CDN: self-hosted installs are often offline.
    // Loaded on its first request: its ~30 MB of page source would otherwise sit in every api's heap.
    renderGraphiQL: async (options) =>
      (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options),
    maskedErrors: { maskError: maskErrorFor(deps.logger) },
    logging: false,
    // useRequestBodyLimit instead: yoga's counts every body's bytes through a stream.
    maxRequestBodySize: false,
    plugins: [
      useRequestIds(deps.logger),
      useRequestBodyLimit(deps.config.http.requestBodyLimitBytes),
      ...useOperationLimits(deps.config.graphql),
      useInputChecks(deps.config.graphql.maxInputDepth),
      usePortalAccess(),
      useGraphqlMetrics(),
      ...(isTracing() ? [useOperationSpans()] : []),
    ],
    context: async (ctx) => ({
      viewer: await authenticate(authorizationOf(ctx), clientAddressOf(ctx.req)),
      deps,
    }),
  });
  const routes = healthRoutes(deps, probe);
  const web = webApp(deps.config.http, deps.logger);
  const eventStreams = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    if (serveRoute(routes, req, res)) return;
    if (req.url?.startsWith(INBOUND_PATH)) {
      serveInbound(deps, req, res).catch((err: Error) => {
        deps.logger.error({ err }, "inbound request failed");
        if (!res.headersSent) res.writeHead(503, { "retry-after": "5" });
        res.end();
      });
      return;
    }
    if (web.handle(req, res)) return;
    if (wantsEventStream(req)) {
      eventStreams.add(res);
      res.once("close", () => eventStreams.delete(res));
    }
    void yoga(req, res);
  });
  const wss = new WebSocketServer({ server, path: "/graphql" });
  const ws = useServer<Record<string, unknown>>(
    {
      /**
       * No credential: closed with 4401 Unauthorized, which graphql-ws clients
       * do not retry. A bad, revoked or expired one: false, which graphql-ws
       * closes with 4403 Forbidden (clients may retry with fresh connectionParams).
       */
      onConnect: async (ctx) => {
        const authorization = authorizationParam(ctx.connectionParams);
        if (!authorization) {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        try {
          return (await authenticate(authorization, clientAddressOf(ctx.extra.request))) !== null;
        } catch (err) {
          if (!(err instanceof GraphQLError)) throw err;
          ctx.extra.socket.close(CLOSE_RATE_LIMITED, err.message);
          return false;
        }
      },
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
          request: new Request("http://localhost/graphql", {
            headers: { authorization: String(ctx.connectionParams?.authorization ?? "") },
          }),
        });
        const document = enveloped.parse(params.query);
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        let contextValue: Context;
        try {
          contextValue = await enveloped.contextFactory();
        } catch (err) {
          if (err instanceof GraphQLError) return [err]; // RATE_LIMITED, answered as this subscription's error
          throw err;
        }
        return {
          schema: enveloped.schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wss,
  );

  let stopping = false;
  return {
    server,
    yoga,
    get stopping() {
      return stopping;
    },
    start: (port: number, host = "127.0.0.1"): Promise<number> => listen(server, port, host),
    /**
     * Stops accepting, closes live sockets (1001 Going Away) and SSE streams,
     * and waits for in-flight requests. Subscriptions are cut, not completed,
     * so clients resubscribe to another api process.
     */
    async stop(): Promise<void> {
      stopping = true;
      await ws.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const res of eventStreams) res.destroy();
      await closed;
    },
  };
}

type Enveloped = { execute: typeof execute; subscribe: typeof subscribe };

export type App = ReturnType<typeof buildApp>;
