import { type DocumentNode, Kind, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import { type AppError, forbidden } from "../errors.ts";
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

/** Refuses, before anything runs, an operation of a portal link that uses a root field outside PORTAL_FIELDS. */
export function usePortalAccess(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue as Context, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args.contextValue as Context, args.document, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
