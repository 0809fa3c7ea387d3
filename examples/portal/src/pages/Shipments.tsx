import { Link } from "react-router-dom";
import { useQuery } from "urql";
import { ErrorNote, Pager, StatusBadge } from "../components";
import { day, edgesOf } from "../format";
import { graphql } from "../gql";
import type { ShipmentStatus } from "../gql/graphql";
import { useCursorPaging } from "../paging";

const SHIPMENT_STATUSES: ShipmentStatus[] = ["PENDING", "IN_TRANSIT", "DELIVERED", "LOST", "RETURNED"];

const ShipmentsQuery = graphql(`
  query PortalShipments($first: Int, $after: String, $last: Int, $before: String, $filter: ShipmentFilter) {
    shipments(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node {
        id carrier trackingNumber status shippedAt expectedAt deliveredAt
        order { id number }
      } }
    }
  }
`);

export function ShipmentsPage() {
  const paging = useCursorPaging();
  const status = paging.params.get("status") as ShipmentStatus | null;
  const [{ data, error }] = useQuery({
    query: ShipmentsQuery,
    variables: { ...paging.variables, filter: { status: status ? [status] : null } },
  });
  const shipments = edgesOf(data?.shipments);
  return (
    <section>
      <h1>Shipments</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select name="status" value={status ?? ""} onChange={(e) => paging.setFilter("status", e.target.value)}>
            <option value="">any</option>
            {SHIPMENT_STATUSES.map((s) => <option key={s} value={s}>{s.replace(/_/g, " ").toLowerCase()}</option>)}
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      <p className="count">{data ? `${data.shipments.totalCount} shipments` : "Loading…"}</p>
      <table data-testid="shipments">
        <thead><tr><th>Order</th><th>Carrier</th><th>Tracking</th><th>Status</th><th>Shipped</th><th>Expected</th><th>Delivered</th></tr></thead>
        <tbody>
          {shipments.map((s) => (
            <tr key={s.id}>
              <td>{s.order ? <Link to={`/orders/${encodeURIComponent(s.order.id)}`}>{s.order.number}</Link> : "—"}</td>
              <td>{s.carrier}</td>
              <td>{s.trackingNumber ?? "—"}</td>
              <td><StatusBadge status={s.status} /></td>
              <td>{day(s.shippedAt)}</td>
              <td>{day(s.expectedAt)}</td>
              <td>{day(s.deliveredAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager {...paging.controls(data?.shipments.pageInfo)} />
    </section>
  );
}
