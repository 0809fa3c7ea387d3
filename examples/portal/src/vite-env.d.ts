/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** GraphQL endpoint (default: /graphql on the portal's origin). */
  readonly VITE_GRAPHQL_URL?: string;
  /** "id": send trusted documents by hash instead of by text. */
  readonly VITE_PERSISTED_DOCUMENTS?: string;
}
