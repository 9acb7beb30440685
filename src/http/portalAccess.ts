import {
  type DocumentNode,
  type ExecutionResult,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { isAsyncIterable, type Plugin, Repeater } from "graphql-yoga";
import { type AppError, forbidden, unauthenticated } from "../errors.ts";
import type { Context } from "../schema/builder.ts";

/**
 * The root fields a portal link may use; everything else (API keys, inbound
 * sources, publishing, portal sessions, any field added later) is refused to it.
 * Within these, src/services/access.ts keeps an endpoint-scoped link to its endpoints.
 */
const PORTAL_FIELDS = {
  query: new Set([
    "viewer",
    "eventTypes",
    "endpoint",
    "endpoints",
    "event",
    "events",
    "delivery",
    "deliveries",
    "replay",
    "replays",
  ]),
  mutation: new Set([
    "createEndpoint",
    "updateEndpoint",
    "deleteEndpoint",
    "rotateEndpointSecret",
    "testEndpoint",
    "replayDelivery",
    "replayEvents",
    "cancelReplay",
  ]),
  subscription: new Set(["deliveryAttempts", "endpointUpdates", "replayProgress"]),
} as const;

function operationOf(
  document: DocumentNode,
  name: string | null | undefined,
): OperationDefinitionNode | null {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  return (name ? operations.find((op) => op.name?.value === name) : operations[0]) ?? null;
}

/** Names of the root fields an operation selects, through its fragments; @skip/@include are not evaluated. */
function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): Set<string> {
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [],
    ),
  );
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return names;
}

function refusal(
  context: Context,
  document: DocumentNode,
  operationName: string | null | undefined,
): AppError | null {
  if (!context.viewer?.portal) return null;
  const operation = operationOf(document, operationName);
  if (!operation) return null;
  const allowed: ReadonlySet<string> = PORTAL_FIELDS[operation.operation];
  for (const name of rootFieldNames(document, operation)) {
    if (!name.startsWith("__") && !allowed.has(name)) {
      return forbidden(`a portal link cannot use ${name}`);
    }
  }
  return null;
}

/** The results of a subscription until the portal link expires, then an UNAUTHENTICATED error and the end. */
function untilExpiry<T>(results: AsyncIterable<T>, expiresAt: Date): AsyncIterable<T | ExecutionResult> {
  return new Repeater<T | ExecutionResult>(async (push, stop) => {
    const iterator = results[Symbol.asyncIterator]();
    const expire = () => {
      void push({ errors: [unauthenticated("this portal link has expired")] });
      stop();
    };
    const timer = setTimeout(expire, Math.max(0, expiresAt.getTime() - Date.now()));
    void stop.then(() => {
      clearTimeout(timer);
      void iterator.return?.();
    });
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) await push(next.value);
      stop();
    } catch (err) {
      stop(err);
    }
  });
}

/**
 * Refuses, before anything runs, an operation of a portal link that uses a
 * root field outside PORTAL_FIELDS, and ends its subscriptions when it expires.
 */
export function usePortalAccess(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue as Context, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Context;
      const error = refusal(context, args.document, args.operationName);
      if (error) {
        setResultAndStopExecution({ errors: [error] });
        return;
      }
      const expiresAt = context.viewer?.portal?.expiresAt;
      if (!expiresAt) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilExpiry(result, expiresAt) as typeof result);
        },
      };
    },
  };
}
