// Copy the client preset's persisted-documents manifest ({"<sha256 hex>": "<document>"}) to
// examples/portal/persisted-documents.json, keys sorted so regenerating it gives a stable diff.
// The server loads that file as its trusted-documents allow-list.
import { readFileSync, writeFileSync } from "node:fs";

const here = new URL("..", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("src/gql/persisted-documents.json", here), "utf8"));
const sorted = Object.fromEntries(Object.keys(manifest).sort().map((hash) => [hash, manifest[hash]]));
writeFileSync(new URL("persisted-documents.json", here), JSON.stringify(sorted, null, 2) + "\n");
console.log(`persisted-documents.json: ${Object.keys(sorted).length} documents`);
