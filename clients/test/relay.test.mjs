// What the Relay compiler generated from relay/*.ts runs on a live server: the @refetchable
// pagination query refetches an organization through node(id:) page after page.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { gql, startServerWithKeys } from "./live-server.mjs";

const artifact = (name) => readFileSync(new URL(`../relay/__generated__/${name}.graphql.ts`, import.meta.url), "utf8");
const operationText = (name) => JSON.parse(artifact(name).match(/"text": ("(?:[^"\\]|\\.)*")/)[1]);

let server;
before(async () => {
  server = await startServerWithKeys();
});
after(async () => {
  await server?.close();
});

test("Relay's refetch query pages a customer's orders through node(id:)", async () => {
  const pagination = operationText("CustomerOrdersPaginationQuery");
  assert.match(pagination, /node\(id: \$id\)/);
  const seen = [];
  let cursor = null;
  let pages = 0;
  for (;;) {
    const { node } = await gql(server.graphql, server.customerKey, pagination, { id: server.customerId, count: 2, cursor });
    assert.equal(node.__typename, "Organization");
    seen.push(...node.orders.edges.map((edge) => edge.node.id));
    pages += 1;
    if (!node.orders.pageInfo.hasNextPage) break;
    cursor = node.orders.pageInfo.endCursor;
  }
  assert.ok(pages > 1, "more than one page");
  assert.equal(new Set(seen).size, seen.length);
  const { node } = await gql(server.graphql, server.customerKey, pagination, { id: server.customerId, count: 100 });
  assert.deepEqual(node.orders.edges.map((edge) => edge.node.id), seen);
});

test("Relay's entry query and an order's refetch query run as generated", async () => {
  const page = await gql(server.graphql, server.customerKey, operationText("CustomerOrdersQuery"), { id: server.customerId });
  assert.ok(page.node.orders.edges.length > 0);
  const order = await gql(server.graphql, server.customerKey, operationText("OrderDetailRefetchQuery"), {
    id: server.customerOrderId,
  });
  assert.equal(order.node.id, server.customerOrderId);
  assert.equal(order.node.customer.id, server.customerId);
});
