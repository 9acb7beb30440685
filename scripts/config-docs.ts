// Writes docs/configuration.md from src/config.ts: every setting of `envSchema` with its
// default, unit and the doc comment above it. With --check, fails when the committed file
// is stale or a setting has no doc comment.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const CONFIG = new URL("../src/config.ts", import.meta.url);
const DOCS = new URL("../docs/configuration.md", import.meta.url);

export type Setting = {
  name: string;
  /** As the environment would spell it; null when unset by default. */
  defaultValue: string | null;
  unit: string;
  description: string;
};

/** Units spelled by a name's suffix (STYLE.md: constants carry their unit in their name). */
const UNIT_SUFFIXES: [RegExp, string][] = [
  [/_MS$/, "milliseconds"],
  [/_S$/, "seconds"],
  [/_DAYS$/, "days"],
  [/_BYTES$/, "bytes"],
  [/_PERCENT$/, "percent"],
  [/_PER_MINUTE$/, "per minute"],
];
/** Helpers of src/config.ts whose first argument is the default, and the unit they parse. */
const DEFAULTING_HELPERS: Record<string, string> = {
  intWith: "",
  duration: "duration (250ms, 5s, 2m, 1h, 1d)",
  durationList: "list of durations",
};

/** The calls an initializer chains, innermost first: `z.string().default("x").optional()`. */
function callChain(expression: ts.Expression): ts.CallExpression[] {
  const calls: ts.CallExpression[] = [];
  let node: ts.Expression = expression;
  while (ts.isCallExpression(node) || ts.isPropertyAccessExpression(node)) {
    if (ts.isCallExpression(node)) {
      calls.unshift(node);
      node = node.expression;
    } else node = node.expression;
  }
  return calls;
}

const calleeName = (call: ts.CallExpression) =>
  ts.isPropertyAccessExpression(call.expression)
    ? call.expression.name.text
    : ts.isIdentifier(call.expression)
      ? call.expression.text
      : "";

/** A default as the environment would spell it: `256 * 1024` → 262144, `"5s"` → 5s. */
function literalText(node: ts.Expression, source: ts.SourceFile): string {
  if (ts.isStringLiteral(node)) return node.text;
  const text = node.getText(source);
  if (/^[\d_\s*+]+$/.test(text)) return String(Function(`return (${text.replaceAll("_", "")})`)());
  return text;
}

function describeSetting(property: ts.PropertyAssignment, source: ts.SourceFile): Setting {
  const name = property.name.getText(source);
  const description = ts
    .getJSDocCommentsAndTags(property)
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "")
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
  let defaultValue: string | null = null;
  let unit = UNIT_SUFFIXES.find(([suffix]) => suffix.test(name))?.[1] ?? "";
  const calls = callChain(property.initializer);
  for (const call of calls) {
    const callee = calleeName(call);
    const [first] = call.arguments;
    if (callee === "default" && first) defaultValue = literalText(first, source);
    if (callee in DEFAULTING_HELPERS && first) {
      defaultValue = literalText(first, source);
      unit ||= DEFAULTING_HELPERS[callee] ?? "";
    }
    if (callee === "enum" && first && ts.isArrayLiteralExpression(first)) {
      unit ||= `one of ${first.elements.map((e) => literalText(e, source)).join(", ")}`;
    }
  }
  if (property.initializer.getText(source).startsWith("bool"))
    unit ||= "boolean (1/0, true/false, yes/no, on/off)";
  return { name, defaultValue: defaultValue === "" ? '""' : defaultValue, unit, description };
}

/** Every setting of `envSchema` in src/config.ts, in source order. */
export function readSettings(path: URL = CONFIG): Setting[] {
  const source = ts.createSourceFile(path.pathname, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  let settings: Setting[] | undefined;
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && node.name.getText(source) === "envSchema" && node.initializer) {
      const [shape] = (node.initializer as ts.CallExpression).arguments;
      if (shape && ts.isObjectLiteralExpression(shape))
        settings = shape.properties.filter(ts.isPropertyAssignment).map((p) => describeSetting(p, source));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (!settings) throw new Error("src/config.ts: no `const envSchema = z.object({ … })` found");
  return settings;
}

const cell = (text: string) => text.replaceAll("|", "\\|");

export function renderConfigDocs(settings: Setting[]): string {
  const rows = settings.map(
    (s) =>
      `| \`${s.name}\` | ${s.defaultValue === null ? "unset" : `\`${cell(s.defaultValue)}\``} | ${cell(s.unit)} | ${cell(s.description)} |`,
  );
  return `# Configuration

<!-- Generated from src/config.ts by \`npm run config:docs\`; edit the doc comments there, not this file. -->

Hookpost reads its settings from the environment once, at start; a bad value stops it
with one line per variable. Durations are written like \`250ms\`, \`5s\`, \`2m\`, \`1h\`, \`1d\`
(a bare number is milliseconds). Booleans take \`1\`/\`0\`, \`true\`/\`false\`, \`yes\`/\`no\`, \`on\`/\`off\`.

${settings.length} settings, in the order src/config.ts declares them:

| Variable | Default | Unit | Meaning |
| --- | --- | --- | --- |
${rows.join("\n")}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const settings = readSettings();
  const undocumented = settings.filter((s) => !s.description).map((s) => s.name);
  if (undocumented.length > 0) {
    process.stderr.write(
      `src/config.ts: give these settings a /** doc comment */: ${undocumented.join(", ")}\n`,
    );
    process.exit(1);
  }
  const rendered = renderConfigDocs(settings);
  if (process.argv.includes("--check")) {
    let committed = "";
    try {
      committed = readFileSync(DOCS, "utf8");
    } catch {}
    if (committed !== rendered) {
      process.stderr.write("docs/configuration.md is stale: run `npm run config:docs` and commit it.\n");
      process.exit(1);
    }
    process.stdout.write("docs/configuration.md is up to date\n");
  } else {
    writeFileSync(DOCS, rendered);
    process.stdout.write(`wrote docs/configuration.md (${settings.length} settings)\n`);
  }
}
