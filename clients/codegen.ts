// GraphQL Code Generator: TypeScript types for the documents in src/ from ../schema.graphql,
// with the client preset (typed `graphql()` documents) and a persisted-documents.json manifest
// (SHA-256, the format the server's trusted_documents setting loads).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { persistedDocuments: { mode: "embedHashInDocument", hashAlgorithm: "sha256" } },
      config: {
        strictScalars: true,
        useTypeImports: true,
        enumsAsTypes: true,
        // Decimals and times travel as strings: never parse money into a float.
        scalars: { Date: "string", DateTime: "string", Decimal: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
