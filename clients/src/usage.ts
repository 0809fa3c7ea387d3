// A small typed client: tsc --noEmit proves the generated types fit how they are used.
import { GraphQLClient } from "graphql-request";

import { MyOrders, OrderSummary, RaiseComplaint } from "./documents";
import { type FragmentType, useFragment } from "./gql";
import type { MyOrdersQuery, OrderStatus } from "./gql/graphql";

export function describeOrder(order: FragmentType<typeof OrderSummary>): string {
  const summary = useFragment(OrderSummary, order);
  const status: OrderStatus = summary.status;
  const amount: string | undefined = summary.total?.amount; // Decimal as a string, never a float
  // @ts-expect-error fields the fragment does not select are not on its type
  summary.customer;
  return `${summary.number} ${status} ${amount ?? "-"}`;
}

export async function allOrderNumbers(client: GraphQLClient, pageSize = 20): Promise<string[]> {
  const numbers: string[] = [];
  let after: string | null | undefined = null;
  for (;;) {
    const page: MyOrdersQuery = await client.request(MyOrders, { first: pageSize, after });
    for (const edge of page.orders.edges) numbers.push(describeOrder(edge.node));
    if (!page.orders.pageInfo.hasNextPage) return numbers;
    after = page.orders.pageInfo.endCursor;
  }
}

export async function complain(client: GraphQLClient, customer: string, order: string): Promise<string | null> {
  const { createComplaint } = await client.request(RaiseComplaint, { customer, order, title: "Late" });
  // @ts-expect-error variables are typed: `title` is required
  await client.request(RaiseComplaint, { customer, order });
  return createComplaint.errors.length === 0 ? (createComplaint.record?.id ?? null) : null;
}
