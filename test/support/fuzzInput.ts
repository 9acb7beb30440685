import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
} from "graphql";

/** A small seeded PRNG (mulberry32), so a failing run can be repeated with its seed. */
export function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    chance: (p: number) => next() < p,
    int: (max: number) => Math.floor(next() * max),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}
export type Random = ReturnType<typeof randomSource>;

/** JSON nested `depth` objects deep. */
export function nestedJson(depth: number): unknown {
  let value: unknown = {};
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

/**
 * Values for GraphQL inputs that are now right, now wrong: real ids and event
 * types, wrong types, huge strings, long lists, deep JSON, dates out of range,
 * missing and unknown fields.
 */
export function inputFuzzer(random: Random, knownIds: readonly string[]) {
  const strings = (small: boolean) =>
    random.pick([
      ...(small ? [] : ["x".repeat(random.pick([5_000, 1_000_000]))]),
      "",
      "email.sent",
      "email.*",
      "*",
      "webhook.test",
      "x".repeat(random.pick([10, 300])),
      "a\u0000b",
      "héllo ☃ \u{1F600}",
      "http://127.0.0.1:9/hooks",
      "https://hooks.example.com/in",
      "ftp://x",
      "0000-01-01",
      ...knownIds,
    ]);
  const dates = () =>
    random.pick([
      "2026-01-01T00:00:00.000Z",
      "0000-01-01",
      "+275760-09-13T00:00:00.000Z",
      "-000001-01-01T00:00:00Z",
      "9999-12-31T23:59:59.999Z",
      "not a date",
      8.64e15,
      -1,
    ]);
  const anyJson = (small: boolean): unknown =>
    random.pick([
      () => ({ to: "a@example.com", subject: "hi", tags: ["a", "b"] }),
      () => nestedJson(small ? 3 : random.pick([3, 31, 40, 2_000])),
      () => Array.from({ length: small ? 5 : random.pick([0, 5, 2_000]) }, (_, i) => i),
      () => ({ "x-token": "v".repeat(small ? 10 : random.pick([10, 5_000])) }),
      () => null,
      () => "text",
      () => 1e308,
    ])();
  /** A value of some other kind than the type asks for. */
  const wrongKind = (): unknown =>
    random.pick([42, -1, 2 ** 53, 1.5, true, "str", [], {}, [1, "a"], { nope: 1 }, null]);

  /** `small`: an entry of a long list, kept small so that a request stays under the body limit. */
  function valueFor(type: GraphQLInputType, small = false): unknown {
    if (random.chance(0.08)) return wrongKind();
    if (isNonNullType(type)) return valueFor(type.ofType, small);
    if (random.chance(0.05)) return null;
    if (isListType(type)) {
      const length = small ? random.int(3) : random.pick([0, 1, 3, 101, 1_001, 20_000]);
      return Array.from({ length }, () => valueFor(type.ofType, small || length > 3));
    }
    if (isEnumType(type)) return random.chance(0.9) ? random.pick(type.getValues()).name : "NOPE";
    if (isInputObjectType(type)) {
      const value: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        if (!isNonNullType(field.type) && random.chance(0.5)) continue;
        if (random.chance(0.03)) continue;
        value[field.name] = valueFor(field.type, small);
      }
      if (random.chance(0.05)) value.unknownField = "x";
      return value;
    }
    switch (type.name) {
      case "Int":
        return random.pick([0, 1, 20, 100, 101, -5, 2 ** 31, 86_400, 7 * 86_400 + 1]);
      case "Boolean":
        return random.chance(0.5);
      case "DateTime":
        return dates();
      case "JSON":
        return anyJson(small);
      default:
        return strings(small);
    }
  }

  /** Variables for every argument of `field`, some missing, some of a wrong kind. */
  function variablesFor(args: readonly GraphQLArgument[]): Record<string, unknown> {
    const variables: Record<string, unknown> = {};
    for (const arg of args) {
      if (random.chance(0.04)) continue;
      variables[arg.name] = valueFor(arg.type);
    }
    return variables;
  }

  return { variablesFor };
}

/** `mutation ($a: T!, …) { field(a: $a, …) { __typename } }` for any mutation field. */
export function operationFor(field: GraphQLField<unknown, unknown>): string {
  const definitions = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(", ");
  const args = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(", ");
  const selection = isObjectType(getNamedType(field.type)) ? " { __typename }" : "";
  return `mutation Fuzz${definitions ? `(${definitions})` : ""} { ${field.name}${args ? `(${args})` : ""}${selection} }`;
}
