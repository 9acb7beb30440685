import { GraphQLError, Kind } from "graphql";
import { builder } from "./builder.ts";

function parseDate(value: unknown): Date {
  if (typeof value !== "string" && typeof value !== "number") {
    throw new GraphQLError("DateTime must be an ISO-8601 string", { extensions: { code: "BAD_USER_INPUT" } });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError(`"${value}" is not a valid DateTime`, { extensions: { code: "BAD_USER_INPUT" } });
  }
  return date;
}

builder.scalarType("DateTime", {
  description: "An ISO-8601 timestamp in UTC, e.g. 2026-11-23T10:30:00.000Z.",
  // Live messages cross Redis as JSON, so dates arrive as strings there.
  serialize: (value) => new Date(value).toISOString(),
  parseValue: parseDate,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError("DateTime must be an ISO-8601 string", {
        extensions: { code: "BAD_USER_INPUT" },
      });
    }
    return parseDate(ast.value);
  },
});

builder.scalarType("JSON", {
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: function parse(ast): unknown {
    switch (ast.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      case Kind.NULL:
        return null;
      case Kind.LIST:
        return ast.values.map((v) => parse(v));
      case Kind.OBJECT:
        return Object.fromEntries(ast.fields.map((f) => [f.name.value, parse(f.value)]));
      default:
        throw new GraphQLError("JSON literals cannot use variables inside", {
          extensions: { code: "BAD_USER_INPUT" },
        });
    }
  },
});
