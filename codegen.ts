import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed operations for the tests (and any TypeScript client): every document in
// test/operations/*.graphql becomes a TypedDocumentNode in test/generated/graphql.ts.
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/operations/**/*.graphql"],
  ignoreNoDocuments: false,
  // NodeNext resolution needs explicit extensions in the generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    "test/generated/": {
      preset: "client",
      config: {
        scalars: { DateTime: "string", JSON: "unknown" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
