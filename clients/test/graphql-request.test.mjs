// graphql-request against a live server: the README's examples, the complaint mutation,
// cursor paging by hand, typed errors; then trusted documents from our codegen manifest.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { ClientError, GraphQLClient, gql } from "graphql-request";

import { readmeExamples, startServerWithKeys } from "./live-server.mjs";

const MANIFEST = new URL("../src/gql/persisted-documents.json", import.meta.url);

describe("graphql-request", () => {
  let server;
  before(async () => {
    server = await startServerWithKeys();
  });
  after(async () => {
    await server?.close();
  });
  const client = (key) => new GraphQLClient(server.graphql, { headers: { authorization: `Bearer ${key}` } });

  test("runs every README example query", async () => {
    for (const text of readmeExamples().filter((example) => example.startsWith("query"))) {
      const data = await client(server.admin).request(text);
      assert.ok(Object.values(data).every(Boolean), `no data for ${text.slice(0, 60)}`);
    }
  });

  test("raises the README's complaint as the customer", async () => {
    const complain = readmeExamples().find((text) => text.startsWith("mutation Complain"));
    const data = await client(server.customerKey).request(complain, {
      customer: server.customerId,
      order: server.customerOrderId,
    });
    assert.deepEqual(data.createComplaint.errors, []);
    assert.ok(data.createComplaint.record.id);
  });

  test("pages through every order exactly once with cursors", async () => {
    const PAGE = gql`
      query Page($after: String) {
        orders(first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
      }
    `;
    const seen = [];
    let after = null;
    let total;
    for (;;) {
      const { orders } = await client(server.admin).request(PAGE, { after });
      total = orders.totalCount;
      seen.push(...orders.edges.map((edge) => edge.node.id));
      if (!orders.pageInfo.hasNextPage) break;
      after = orders.pageInfo.endCursor;
    }
    assert.ok(total > 50, "more than one page");
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total);
  });

  test("a partner reading an internal field gets null and a FORBIDDEN error on it", async () => {
    const query = "{ organizations(first: 1) { edges { node { name creditLimit { amount } } } } }";
    const { data, errors } = await client(server.customerKey).rawRequest(query).catch((error) => error.response);
    assert.ok(data.organizations.edges[0].node.name);
    assert.equal(data.organizations.edges[0].node.creditLimit, null);
    assert.equal(errors[0].extensions.code, "FORBIDDEN");
  });

  test("without a key: 401 with a GraphQL error body", async () => {
    await assert.rejects(new GraphQLClient(server.graphql).request("{ orders(first: 1) { totalCount } }"), (error) => {
      assert.ok(error instanceof ClientError);
      assert.equal(error.response.status, 401);
      assert.equal(error.response.errors[0].extensions.code, "UNAUTHENTICATED");
      return true;
    });
  });
});

describe("trusted documents from the codegen manifest", () => {
  const manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
  // Send each codegen document by its hash, as an app built with the client preset does.
  const hashOf = Object.fromEntries(
    Object.entries(manifest).map(([hash, text]) => [text.match(/(?:query|mutation) (\w+)/)[1], hash]),
  );
  const byDocumentId = (request) => {
    const { query, ...rest } = JSON.parse(request.body);
    const name = query.match(/(?:query|mutation) (\w+)/)?.[1];
    if (!hashOf[name]) return request; // not a published document: sent as text
    return { ...request, body: JSON.stringify({ ...rest, documentId: hashOf[name] }) };
  };

  let server;
  before(async () => {
    server = await startServerWithKeys({
      env: {
        PARTNERGRAPH_TRUSTED_DOCUMENTS: MANIFEST.pathname,
        PARTNERGRAPH_TRUSTED_DOCUMENTS_ONLY_FOR_PARTNERS: "true",
      },
    });
  });
  after(async () => {
    await server?.close();
  });
  const client = (key) =>
    new GraphQLClient(server.graphql, { headers: { authorization: `Bearer ${key}` }, requestMiddleware: byDocumentId });

  test("a partner runs the published documents by id", async () => {
    const MY_ORDERS = `query MyOrders($first: Int!, $after: String) { orders(first: $first, after: $after) { totalCount } }`;
    const data = await client(server.customerKey).request(MY_ORDERS, { first: 5 });
    assert.ok(data.orders.totalCount > 0);
    assert.ok(data.orders.edges.length > 0, "the server ran the manifest's text, not ours");
  });

  test("a partner's other documents are refused, an internal user's are not", async () => {
    const other = "query Anything { products(first: 1) { edges { node { sku } } } }";
    await assert.rejects(client(server.customerKey).request(other), (error) => {
      assert.equal(error.response.errors[0].extensions.code, "PERSISTED_QUERY_NOT_ALLOWED");
      assert.equal(error.response.data, undefined);
      return true;
    });
    const data = await client(server.admin).request(other);
    assert.equal(data.products.edges.length, 1);
  });
});
