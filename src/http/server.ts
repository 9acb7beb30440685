import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { execute, subscribe } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { createYoga, type YogaInitialContext } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Deps } from "../deps.ts";
import type { Context } from "../schema/builder.ts";
import { schema } from "../schema/index.ts";
import type { Authenticate } from "../services/auth.ts";
import { type Probe, healthRoutes } from "./health.ts";

type ServerContext = { req?: IncomingMessage; connectionParams?: Record<string, unknown> };

function authorizationOf(ctx: YogaInitialContext & ServerContext): string | null {
  const fromParams = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
  if (typeof fromParams === "string") return fromParams;
  return ctx.request.headers.get("authorization");
}

/**
 * The api process: graphql-yoga on /graphql (queries, mutations, GraphiQL,
 * SSE subscriptions), graphql-ws on the same path, and health/metrics routes.
 * WebSocket and HTTP share one context factory (auth included) through
 * yoga.getEnveloped.
 */
export function buildApp(deps: Deps, authenticate: Authenticate, probe: Probe) {
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: { title: "Hookpost", subscriptionsProtocol: "WS" },
    // GraphiQL served from the package, not a CDN: self-hosted installs are often offline.
    renderGraphiQL,
    maskedErrors: true,
    logging: false,
    context: async (ctx) => ({ viewer: await authenticate(authorizationOf(ctx)), deps }),
  });
  const routes = healthRoutes(deps, probe);
  const server: Server = createServer((req, res) => {
    const route = routes[(req.url ?? "").split("?")[0] ?? ""];
    if (route) {
      route(req, res);
      return;
    }
    void yoga(req, res);
  });
  const wss = new WebSocketServer({ server, path: "/graphql" });
  const ws = useServer<Record<string, unknown>>(
    {
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        const viewer = await authenticate(typeof authorization === "string" ? authorization : null);
        // false → graphql-ws closes with 4403 Forbidden.
        return viewer !== null;
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
        return {
          schema: enveloped.schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
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
    async start(port: number, host = "127.0.0.1"): Promise<number> {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      return (server.address() as AddressInfo).port;
    },
    /** Stops accepting, closes live sockets (1001 Going Away), and waits for in-flight requests. */
    async stop(): Promise<void> {
      stopping = true;
      await ws.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

type Enveloped = { execute: typeof execute; subscribe: typeof subscribe };

export type App = ReturnType<typeof buildApp>;
