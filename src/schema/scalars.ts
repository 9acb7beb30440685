import { GraphQLError, Kind } from "graphql";
import { quote } from "../errors.ts";
import { builder } from "./builder.ts";

/** Years 1 to 9999: what ISO-8601 writes with four digits, and well inside what PostgreSQL stores. */
const EARLIEST_MS = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST_MS = Date.parse("9999-12-31T23:59:59.999Z");

function parseDate(value: unknown): Date {
  if (typeof value !== "string" && typeof value !== "number") {
    throw new GraphQLError("DateTime must be an ISO-8601 string", { extensions: { code: "BAD_USER_INPUT" } });
  }
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) {
    throw new GraphQLError(`${quote(String(value))} is not a valid DateTime`, {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  if (ms < EARLIEST_MS || ms > LATEST_MS) {
    throw new GraphQLError(`${quote(String(value))} is outside the years 0001–9999`, {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return new Date(ms);
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
