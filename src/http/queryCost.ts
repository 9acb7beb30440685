import { BREAK, type DocumentNode, type GraphQLSchema, getNamedType, isLeafType, Kind, visit } from "graphql";
import { type ComplexityEstimator, getComplexity } from "graphql-query-complexity";
import { DEFAULT_PAGE, MAX_PAGE } from "../schema/pagination.ts";

/**
 * A field's cost: 1 for an object (0 for a scalar) plus its selections', and
 * for a list that takes `first` (connections, Event.deliveries,
 * Delivery.attempts), all that times the size asked for, so nested lists multiply.
 */
const listSizeEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  const own = (isLeafType(getNamedType(field.type)) ? 0 : 1) + childComplexity;
  if (!field.args.some((arg) => arg.name === "first")) return own;
  const first = typeof args.first === "number" ? args.first : DEFAULT_PAGE;
  return Math.min(Math.max(first, 0), MAX_PAGE) * own;
};

export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
): number {
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    estimators: [listSizeEstimator],
  });
}

/**
 * Whether the query text alone fixes its cost: one operation, no list size
 * from a variable, no @include/@skip on a variable.
 */
export function costIsFixed(document: DocumentNode): boolean {
  let fixed = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length === 1;
  if (!fixed) return false;
  const fromVariable = (
    args: readonly { name: { value: string }; value: { kind: Kind } }[] | undefined,
    all: boolean,
  ) => args?.some((arg) => (all || arg.name.value === "first") && arg.value.kind === Kind.VARIABLE) ?? false;
  visit(document, {
    Field(node) {
      if (fromVariable(node.arguments, false)) fixed = false;
      return fixed ? undefined : BREAK;
    },
    Directive(node) {
      if (fromVariable(node.arguments, true)) fixed = false;
      return fixed ? undefined : BREAK;
    },
  });
  return fixed;
}
