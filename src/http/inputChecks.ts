import type { ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import { badInput } from "../errors.ts";

/**
 * Refuses GraphQL input, in the document's literals or in the variables,
 * before a resolver runs, that holds U+0000 or is nested more than `maxDepth`
 * levels deep. PostgreSQL's text and jsonb cannot store the NUL character (an
 * event whose data held one came back as an internal error), and deep JSON
 * overflowed the stack of every recursive reader after this one
 * (JSON.stringify among them). The checks are iterative: no input can
 * overflow them.
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
 * Walks with its own stack (two arrays, no object per value: it runs on every publish).
 */
export function inputProblem(variables: unknown, maxDepth: number): string | null {
  if (typeof variables !== "object" || variables === null) return null;
  const values: object[] = [variables];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    for (const key in value) {
      if (key.includes("\u0000")) return NUL;
      const item = value[key];
      if (typeof item === "string") {
        if (item.includes("\u0000")) return NUL;
      } else if (typeof item === "object" && item !== null) {
        if (depth >= maxDepth) return tooDeep(maxDepth);
        values.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return null;
}
