import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
  validate,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Config } from "../config.ts";
import { badInput } from "../errors.ts";
import { costIsFixed, queryCost } from "./queryCost.ts";

export type OperationLimits = Config["graphql"];

/** Mutations that send HTTP requests to receivers while the request waits. */
const OUTBOUND_FIELDS: ReadonlySet<string> = new Set(["testEndpoint", "replayDelivery"]);

/**
 * Bounds on what one GraphQL operation may ask for, checked before anything
 * runs: tokens while parsing (GraphQL Armor); depth, aliases (Armor) and
 * outbound-sending fields while validating, both kept per query text; and
 * cost, which multiplies by list sizes (graphql-query-complexity), before
 * execution. Every refusal is BAD_USER_INPUT and costs no database work.
 */
export function useOperationLimits(limits: OperationLimits): Plugin[] {
  // Armor's own errors have no code; each is replaced by a coded one. The token limit acts while parsing (no context).
  const refuse = (context: ValidationContext | null, error: GraphQLError) => {
    const refusal = badInput(error.message.replace(/^Syntax Error: /, ""));
    if (!context) throw refusal;
    context.reportError(refusal);
  };
  const armor = { onReject: [refuse], propagateOnRejection: false, exposeLimits: true };
  return [
    maxTokensPlugin({ n: limits.maxTokens, ...armor }),
    useLimitsFirst([
      maxDepthRule({ n: limits.maxDepth, ...armor }),
      maxAliasesRule({ n: limits.maxAliases, ...armor }),
      outboundFieldsRule(limits.maxOutboundFields),
    ]),
    useCostLimit(limits.maxCost),
  ];
}

/**
 * Runs the limit rules before graphql's own, and alone: one of those
 * (overlapping fields) compares every pair of fields, which a refused query
 * of hundreds of aliases should not pay for. Their answer is kept per document.
 */
function useLimitsFirst(rules: ValidationRule[]): Plugin {
  const refusals = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return {
    onValidate({ params: { schema, documentAST }, setResult }) {
      let errors = refusals.get(documentAST);
      if (!errors) {
        errors = validate(schema, documentAST, rules);
        refusals.set(documentAST, errors);
      }
      if (errors.length > 0) setResult(errors);
    },
  };
}

function outboundFieldsRule(max: number): ValidationRule {
  return (context) => {
    let count = 0;
    return {
      Field(node) {
        if (context.getParentType() !== context.getSchema().getMutationType()) return;
        if (!OUTBOUND_FIELDS.has(node.name.value) || ++count !== max + 1) return;
        context.reportError(
          badInput(`at most ${max} testEndpoint or replayDelivery fields may run in one request`),
        );
      },
    };
  };
}

/**
 * Refuses an operation whose cost is over `maxCost`. The cost of a query text
 * whose list sizes are all literal is computed once and kept; one whose sizes
 * come from variables, per request (its variables are small: page sizes and filters).
 */
function useCostLimit(maxCost: number): Plugin {
  const fixedCosts = new WeakMap<DocumentNode, number>();
  const check = (
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Record<string, unknown> | null | undefined,
    operationName: string | null | undefined,
  ): GraphQLError | null => {
    let cost = fixedCosts.get(document);
    if (cost === undefined) {
      try {
        cost = queryCost(schema, document, variables ?? {}, operationName ?? undefined);
      } catch (err) {
        // Mostly a variable of the wrong type: the same refusal execution would give.
        return badInput(err instanceof GraphQLError ? err.message : "the query's cost could not be computed");
      }
      if (costIsFixed(document)) fixedCosts.set(document, cost);
    }
    return cost > maxCost
      ? badInput(`the query costs ${cost}, over the limit of ${maxCost}: ask for smaller lists (first)`)
      : null;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args.schema, args.document, args.variableValues, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args.schema, args.document, args.variableValues, args.operationName);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
