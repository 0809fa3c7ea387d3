import manifest from "../persisted-documents.json";

// Every document the portal sends is one of its trusted documents (persisted-documents.json,
// written by codegen). By default the request carries that exact text, which any server runs
// and one enforcing the allow-list accepts; with VITE_PERSISTED_DOCUMENTS=id it carries only
// `documentId: "sha256:<hash>"` (smaller, GET-cacheable), resending the text if the server
// does not know the hash.
const byOperation = new Map<string, { hash: string; text: string }>();
for (const [hash, text] of Object.entries(manifest as Record<string, string>)) {
  const name = /^(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1];
  if (name) byOperation.set(name, { hash, text });
}

const SEND_BY_ID = import.meta.env.VITE_PERSISTED_DOCUMENTS === "id";
const UNKNOWN_HASH = new Set(["PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED"]);

type GraphQLBody = { query?: string; documentId?: string; operationName?: string; variables?: unknown };

export const trustedFetch: typeof fetch = async (input, init) => {
  if (typeof init?.body !== "string") return fetch(input, init);
  const body = JSON.parse(init.body) as GraphQLBody;
  const document = body.operationName ? byOperation.get(body.operationName) : undefined;
  if (!document) return fetch(input, init);
  const withText = { ...init, body: JSON.stringify({ ...body, query: document.text }) };
  if (!SEND_BY_ID) return fetch(input, withText);
  const { query: _text, ...rest } = body;
  const response = await fetch(input, { ...init, body: JSON.stringify({ ...rest, documentId: `sha256:${document.hash}` }) });
  const answer = (await response.clone().json().catch(() => null)) as { errors?: { extensions?: { code?: string } }[] } | null;
  const unknown = answer?.errors?.some((e) => UNKNOWN_HASH.has(e.extensions?.code ?? ""));
  return unknown ? fetch(input, withText) : response;
};
