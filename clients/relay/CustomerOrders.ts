// A Relay view of a customer: its orders as a @connection, paginated through @refetchable
// on Node (Relay refetches the organization with node(id:) and the next cursor).
import { graphql } from "./graphql";

export const customerOrdersFragment = graphql`
  fragment CustomerOrders_organization on Organization
  @refetchable(queryName: "CustomerOrdersPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 10 }, cursor: { type: "String" }) {
    id
    name
    orders(first: $count, after: $cursor, orderBy: { field: PLACED_AT, direction: DESC })
      @connection(key: "CustomerOrders_orders") {
      totalCount
      edges {
        node {
          id
          ...OrderRow_order
        }
      }
    }
  }
`;

export const orderRowFragment = graphql`
  fragment OrderRow_order on Order {
    id
    number
    status
    total { amount currency }
    lines(first: 5) { edges { node { lineNumber product { sku name } } } }
  }
`;

export const customerPageQuery = graphql`
  query CustomerOrdersQuery($id: ID!) {
    node(id: $id) {
      ...CustomerOrders_organization @alias(as: "organization")
    }
  }
`;
