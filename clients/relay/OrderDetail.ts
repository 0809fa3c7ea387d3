// An order refetchable by its global id, with its shipments as a connection.
import { graphql } from "./graphql";

export const orderDetailFragment = graphql`
  fragment OrderDetail_order on Order
  @refetchable(queryName: "OrderDetailRefetchQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 5 }, cursor: { type: "String" }) {
    id
    number
    status
    customer { id name }
    shipments(first: $count, after: $cursor) @connection(key: "OrderDetail_shipments") {
      edges { node { id carrier trackingNumber status } }
    }
  }
`;
