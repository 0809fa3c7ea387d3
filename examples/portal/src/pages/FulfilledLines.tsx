import { useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "urql";
import { ErrorNote, Pager, StatusBadge } from "../components";
import { day, edgesOf } from "../format";
import { graphql } from "../gql";
import { PAGE_SIZE } from "../paging";
import { usePartner } from "../partner";

// The order lines this supplier fulfils, with the header of each order (never its prices).
const FulfilledLinesQuery = graphql(`
  query PortalFulfilledLines($id: ID!, $first: Int, $after: String) {
    node(id: $id) {
      ... on Organization {
        fulfilledOrderLines(first: $first, after: $after) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { node {
            id lineNumber quantity
            product { sku name }
            order { id number status placedAt promisedDate }
          } }
        }
      }
    }
  }
`);

export function FulfilledLinesPage() {
  const partner = usePartner();
  // This connection pages forwards only: remember the cursors walked to go back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const [{ data, error }] = useQuery({
    query: FulfilledLinesQuery,
    variables: { id: partner.id, first: PAGE_SIZE, after },
  });
  const connection = data?.node && "fulfilledOrderLines" in data.node ? data.node.fulfilledOrderLines : null;
  const lines = edgesOf(connection);
  return (
    <section>
      <h1>Order lines you fulfil</h1>
      <ErrorNote error={error} />
      <p className="count" data-testid="fulfilled-count">{connection ? `${connection.totalCount} lines` : "Loading…"}</p>
      <table data-testid="fulfilled-lines">
        <thead><tr><th>Order</th><th>Line</th><th>Product</th><th>Quantity</th><th>Order status</th><th>Placed</th><th>Promised</th></tr></thead>
        <tbody>
          {lines.map((l) => (
            <tr key={l.id}>
              <td>{l.order ? <Link to={`/orders/${encodeURIComponent(l.order.id)}`}>{l.order.number}</Link> : "—"}</td>
              <td>{l.lineNumber}</td>
              <td>{l.product ? `${l.product.sku} ${l.product.name}` : "—"}</td>
              <td className="num">{l.quantity}</td>
              <td>{l.order ? <StatusBadge status={l.order.status} /> : "—"}</td>
              <td>{day(l.order?.placedAt)}</td>
              <td>{day(l.order?.promisedDate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager
        hasPrevious={cursors.length > 1}
        hasNext={!!connection?.pageInfo.hasNextPage}
        onPrevious={() => setCursors(cursors.slice(0, -1))}
        onNext={() => connection?.pageInfo.endCursor && setCursors([...cursors, connection.pageInfo.endCursor])}
      >
        page {cursors.length}
      </Pager>
    </section>
  );
}
