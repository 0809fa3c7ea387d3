import type { CodegenConfig } from "@graphql-codegen/cli";

// Types for every document in src/ from the server's exported schema; the client preset also
// writes the persisted-documents manifest (sha256 -> document) the server can trust.
const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: "embedHashInDocument", hashAlgorithm: "sha256" },
      },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { ID: "string", Decimal: "string", DateTime: "string", Date: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
