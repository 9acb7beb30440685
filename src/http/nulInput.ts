import type { ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import { badInput } from "../errors.ts";

/**
 * Refuses any GraphQL input holding U+0000, in the document's literals or in
 * the variables, before a resolver runs. PostgreSQL's text and jsonb cannot
 * store the NUL character: an event whose data held one reached the database
 * and came back as an internal error, not as bad input.
 */
export function useRefuseNulInput(): Plugin {
  const refuse = (variables: unknown, setResult: (result: { errors: Error[] }) => void) => {
    if (holdsNul(variables)) setResult({ errors: [nulError()] });
  };
  return {
    // Validation results are cached per document, so the literals are read once per query text.
    onValidate({ addValidationRule }) {
      addValidationRule(refuseNulLiterals);
    },
    onExecute({ args, setResultAndStopExecution }) {
      refuse(args.variableValues, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      refuse(args.variableValues, setResultAndStopExecution);
    },
  };
}

const nulError = () => badInput("input must not contain the NUL character (U+0000)");

const refuseNulLiterals: ValidationRule = (context) => ({
  StringValue(node) {
    if (node.value.includes("\u0000")) context.reportError(nulError());
  },
});

/** Whether a string anywhere in the value, or a key of one of its objects, holds U+0000. */
function holdsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsNul);
  for (const key in value) {
    if (key.includes("\u0000") || holdsNul((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}
