// The `graphql` tag the Relay compiler extracts documents from (react-relay's, at runtime).
export function graphql(strings: TemplateStringsArray): never {
  throw new Error(`Compile with relay-compiler: ${strings.join("")}`);
}
