// Apollo Client against a live server: the README's examples, a mutation, cursor pagination
// merged by relayStylePagination, and automatic persisted queries over GET.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { relayStylePagination } from "@apollo/client/utilities";

import { readmeExamples, startServerWithKeys } from "./live-server.mjs";

let server;
before(async () => {
  server = await startServerWithKeys();
});
after(async () => {
  await server?.close();
});

/** An Apollo client for `key`; `requests` records what went over the wire. */
function apollo(key, { persisted = false, requests = [], typePolicies = {} } = {}) {
  const recordingFetch = async (url, init) => {
    requests.push({ method: init?.method ?? "GET", url: String(url), body: init?.body ? JSON.parse(init.body) : null });
    return fetch(url, init);
  };
  const http = new HttpLink({ uri: server.graphql, headers: { authorization: `Bearer ${key}` }, fetch: recordingFetch });
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const link = persisted ? ApolloLink.from([createPersistedQueryLink({ sha256, useGETForHashedQueries: true }), http]) : http;
  return new ApolloClient({ link, cache: new InMemoryCache({ typePolicies }) });
}

describe("Apollo Client", () => {
  test("runs every README example query", async () => {
    const queries = readmeExamples().filter((text) => text.startsWith("query"));
    assert.ok(queries.length >= 4, "README has example queries");
    const client = apollo(server.admin);
    for (const text of queries) {
      const { data } = await client.query({ query: gql(text), fetchPolicy: "network-only" });
      // As tests/test_readme.py asks: every root field answers something.
      assert.ok(Object.values(data).every(Boolean), `no data for ${text.slice(0, 60)}`);
    }
  });

  test("a customer's portal page holds its own orders only", async () => {
    const portal = readmeExamples().find((text) => text.startsWith("query PortalPage"));
    const { data } = await apollo(server.customerKey).query({ query: gql(portal) });
    const [customer] = data.organizations.edges;
    assert.equal(customer.node.id, server.customerId);
    assert.ok(customer.node.orders.totalCount > 0);
  });

  test("raises the README's complaint as the customer", async () => {
    const complain = readmeExamples().find((text) => text.startsWith("mutation Complain"));
    const { data } = await apollo(server.customerKey).mutate({
      mutation: gql(complain),
      variables: { customer: server.customerId, order: server.customerOrderId },
    });
    assert.deepEqual(data.createComplaint.errors, []);
    assert.ok(data.createComplaint.record.id);
    assert.equal(data.createComplaint.record.__typename, "Complaint");
  });

  test("fetchMore pages merge without duplicates through relayStylePagination", async () => {
    const ORDERS = gql`
      query OrderPages($first: Int!, $after: String) {
        orders(first: $first, after: $after, orderBy: { field: TOTAL, direction: DESC }) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { cursor node { id number } }
        }
      }
    `;
    const client = apollo(server.admin, {
      typePolicies: { Query: { fields: { orders: relayStylePagination(["filter", "orderBy"]) } } },
    });
    const pages = 5;
    const pageSize = 7;
    const watched = client.watchQuery({ query: ORDERS, variables: { first: pageSize } });
    const subscription = watched.subscribe(() => {});
    try {
      let { data } = await client.query({ query: ORDERS, variables: { first: pageSize } });
      for (let page = 1; page < pages; page++) {
        assert.ok(data.orders.pageInfo.hasNextPage);
        await watched.fetchMore({ variables: { after: data.orders.pageInfo.endCursor } });
        data = client.readQuery({ query: ORDERS, variables: { first: pageSize } });
      }
      const merged = data.orders.edges.map((edge) => edge.node.id);
      assert.equal(merged.length, pages * pageSize);
      assert.equal(new Set(merged).size, merged.length, "no duplicate edges");
      const whole = await apollo(server.admin).query({ query: ORDERS, variables: { first: pages * pageSize } });
      assert.deepEqual(merged, whole.data.orders.edges.map((edge) => edge.node.id), "same order as one big page");
      assert.equal(data.orders.pageInfo.endCursor, whole.data.orders.pageInfo.endCursor);
    } finally {
      subscription.unsubscribe();
    }
  });

  test("automatic persisted queries: hash over GET, text once on a miss, mutations over POST", async () => {
    const QUERY = gql`
      query ApqOrders { orders(first: 3, orderBy: { field: PLACED_AT, direction: DESC }) { edges { node { id number } } } }
    `;
    const first = [];
    const fresh = await apollo(server.admin, { persisted: true, requests: first }).query({ query: QUERY });
    assert.equal(fresh.data.orders.edges.length, 3);
    // Miss: GET with the hash alone, then the retry with the text over POST.
    assert.deepEqual(first.map((request) => request.method), ["GET", "POST"]);
    assert.ok(!new URL(first[0].url).searchParams.has("query"));
    assert.ok(new URL(first[0].url).searchParams.get("extensions").includes("sha256Hash"));
    assert.ok(first[1].body.query.includes("ApqOrders"));

    const second = [];
    const cached = await apollo(server.admin, { persisted: true, requests: second }).query({ query: QUERY });
    assert.deepEqual(cached.data, fresh.data);
    assert.deepEqual(second.map((request) => request.method), ["GET"], "a known hash is one GET");

    const answer = await fetch(second[0].url, { headers: { authorization: `Bearer ${server.admin}` } });
    assert.equal(answer.headers.get("cache-control"), "private, max-age=0");
    assert.match(answer.headers.get("vary"), /Authorization/);

    const mutations = [];
    const complain = readmeExamples().find((text) => text.startsWith("mutation Complain"));
    const raised = await apollo(server.customerKey, { persisted: true, requests: mutations }).mutate({
      mutation: gql(complain),
      variables: { customer: server.customerId, order: server.customerOrderId },
    });
    assert.deepEqual(raised.data.createComplaint.errors, []);
    assert.ok(mutations.length >= 1 && mutations.every((request) => request.method === "POST"), "never a GET mutation");
  });
});
