import type { CodegenConfig } from "@graphql-codegen/cli";

const scalars = { DateTime: "string", JSON: "unknown" };

// Typed operations for the tests (and any TypeScript client): every document in
// test/operations/*.graphql becomes a TypedDocumentNode in test/generated/graphql.ts.
// The portal (web/) gets its own: the graphql() calls in web/src become typed documents in web/src/gql.
const config: CodegenConfig = {
  schema: "schema.graphql",
  ignoreNoDocuments: false,
  // NodeNext resolution needs explicit extensions in the generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    "test/generated/": {
      documents: ["test/operations/**/*.graphql"],
      preset: "client",
      config: {
        scalars,
        enumsAsTypes: true,
        useTypeImports: true,
      },
      presetConfig: { fragmentMasking: false },
    },
    "web/src/gql/": {
      documents: ["web/src/**/*.{ts,tsx}", "!web/src/gql/**"],
      preset: "client",
      config: {
        scalars,
        enumsAsTypes: true,
        useTypeImports: true,
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
