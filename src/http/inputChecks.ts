import type { ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import { badInput } from "../errors.ts";

/**
 * Refuses GraphQL input, in the document's literals or in the variables,
 * before a resolver runs, that holds U+0000 or is nested more than `maxDepth`
 * levels deep. PostgreSQL's text and jsonb cannot store the NUL character (an
 * event whose data held one came back as an internal error), and deep JSON
 * overflowed the stack of every recursive reader after this one
 * (JSON.stringify among them). Neither check can be overflowed: graphql's
 * visitor is iterative, and the walk of the variables stops at `maxDepth`.
 */
export function useInputChecks(maxDepth: number): Plugin {
  const refuse = (variables: unknown, setResult: (result: { errors: Error[] }) => void) => {
    const problem = inputProblem(variables, maxDepth);
    if (problem) setResult({ errors: [badInput(problem)] });
  };
  return {
    // Validation results are cached per document, so the literals are read once per query text.
    onValidate({ addValidationRule }) {
      addValidationRule(literalChecks(maxDepth));
    },
    onExecute({ args, setResultAndStopExecution }) {
      refuse(args.variableValues, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      refuse(args.variableValues, setResultAndStopExecution);
    },
  };
}

const NUL = "input must not contain the NUL character (U+0000)";
const tooDeep = (maxDepth: number) => `input must not be nested more than ${maxDepth} levels deep`;
/** Marks a too-deep input inside the walk; the message with the limit is made once, outside it. */
const TOO_DEEP = "too deep";

function literalChecks(maxDepth: number): ValidationRule {
  return (context) => {
    let depth = 0;
    let reported = false;
    const enter = () => {
      depth++;
      if (depth > maxDepth && !reported) {
        reported = true;
        context.reportError(badInput(tooDeep(maxDepth)));
      }
    };
    const leave = () => {
      depth--;
    };
    return {
      StringValue(node) {
        if (node.value.includes("\u0000")) context.reportError(badInput(NUL));
      },
      ObjectValue: { enter, leave },
      ListValue: { enter, leave },
    };
  };
}

/**
 * Why the variables are refused, or null: a string or an object key holding
 * U+0000, or an object or list more than `maxDepth` levels below the top.
 * Its recursion stops at `maxDepth`, so no input can overflow the stack; a
 * walk with its own stack was 25–150 % slower over a 1,000-event publish.
 */
export function inputProblem(variables: unknown, maxDepth: number): string | null {
  const problem = problemIn(variables, maxDepth);
  return problem === TOO_DEEP ? tooDeep(maxDepth) : problem;
}

function problemIn(value: unknown, depthLeft: number): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? NUL : null;
  if (typeof value !== "object" || value === null) return null;
  if (depthLeft < 0) return TOO_DEEP;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = problemIn(item, depthLeft - 1);
      if (problem) return problem;
    }
    return null;
  }
  for (const key in value) {
    if (key.includes("\u0000")) return NUL;
    const problem = problemIn((value as Record<string, unknown>)[key], depthLeft - 1);
    if (problem) return problem;
  }
  return null;
}
