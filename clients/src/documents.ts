// The documents a partner application sends; codegen types them and lists them in
// src/gql/persisted-documents.json, the allow-list the server can enforce for partners.
import { graphql } from "./gql";

export const OrderSummary = graphql(`
  fragment OrderSummary on Order {
    id
    number
    status
    placedAt
    total { amount currency }
  }
`);

export const MyOrders = graphql(`
  query MyOrders($first: Int!, $after: String) {
    orders(first: $first, after: $after, orderBy: { field: PLACED_AT, direction: DESC }) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...OrderSummary } }
    }
  }
`);

export const RaiseComplaint = graphql(`
  mutation RaiseComplaint($customer: ID!, $order: ID!, $title: String!) {
    createComplaint(input: { organizationId: $customer, orderId: $order, title: $title, severity: HIGH }) {
      record { id status openedAt }
      errors { field message code }
    }
  }
`);
