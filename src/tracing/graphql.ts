import { getOperationAST } from "graphql";
import type { Plugin } from "graphql-yoga";
import { traced, withTraceparent } from "./tracing.ts";

/**
 * A span per GraphQL operation (query, mutation), the parent of the spans its
 * resolvers make (a publish's insert and enqueue); a caller's own
 * `traceparent` header makes it a child of the caller's span. Added only
 * while tracing is on.
 */
export function useOperationSpans(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      const type = operation?.operation ?? "query";
      const name = operation?.name?.value ?? args.operationName ?? "anonymous";
      const request = (args.contextValue as { request?: Request }).request;
      setExecuteFn((execArgs) =>
        withTraceparent(request?.headers.get("traceparent"), () =>
          traced(
            `graphql ${type} ${name}`,
            "server",
            { "graphql.operation.type": type, "graphql.operation.name": name },
            async (span) => {
              const result = await executeFn(execArgs);
              if ("errors" in result && result.errors?.length)
                span.setAttributes({ "graphql.errors": result.errors.length });
              return result;
            },
          ),
        ),
      );
    },
  };
}
