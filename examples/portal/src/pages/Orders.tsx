import { Link } from "react-router-dom";
import { useQuery } from "urql";
import { ErrorNote, Pager, StatusBadge } from "../components";
import { day, edgesOf, money } from "../format";
import { graphql } from "../gql";
import type { OrderStatus } from "../gql/graphql";
import { dayRange, useCursorPaging } from "../paging";
import { usePartner } from "../partner";

const ORDER_STATUSES: OrderStatus[] = [
  "DRAFT", "SUBMITTED", "CONFIRMED", "IN_FULFILMENT", "SHIPPED", "DELIVERED", "CLOSED", "CANCELLED",
];

// A customer's own orders; a supplier's are the orders it fulfils lines of, a distributor's
// those it delivers: the server scopes the same query to the key.
const OrdersQuery = graphql(`
  query PortalOrders($first: Int, $after: String, $last: Int, $before: String, $filter: OrderFilter, $buyer: Boolean!) {
    orders(first: $first, after: $after, last: $last, before: $before, filter: $filter,
           orderBy: { field: PLACED_AT, direction: DESC }) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node {
        id number status placedAt promisedDate
        total @include(if: $buyer) { amount currency }
        shipments(first: 1) { totalCount }
      } }
    }
  }
`);

export function OrdersPage() {
  const partner = usePartner();
  const paging = useCursorPaging();
  const status = paging.params.get("status") as OrderStatus | null;
  const from = paging.params.get("from");
  const to = paging.params.get("to");
  const filter = { status: status ? [status] : null, placed: dayRange(from, to) };
  const [{ data, error, fetching }] = useQuery({
    query: OrdersQuery,
    variables: { ...paging.variables, filter, buyer: partner.buyer },
  });
  const orders = edgesOf(data?.orders);
  return (
    <section>
      <h1>Orders</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select name="status" value={status ?? ""} onChange={(e) => paging.setFilter("status", e.target.value)}>
            <option value="">any</option>
            {ORDER_STATUSES.map((s) => <option key={s} value={s}>{s.replace(/_/g, " ").toLowerCase()}</option>)}
          </select>
        </label>
        <label>
          Placed from
          <input type="date" name="from" value={from ?? ""} onChange={(e) => paging.setFilter("from", e.target.value)} />
        </label>
        <label>
          to
          <input type="date" name="to" value={to ?? ""} onChange={(e) => paging.setFilter("to", e.target.value)} />
        </label>
      </form>
      <ErrorNote error={error} />
      <p className="count" data-testid="order-count">
        {data ? `${data.orders.totalCount} orders` : fetching ? "Loading…" : ""}
      </p>
      <table data-testid="orders">
        <thead>
          <tr><th>Number</th><th>Status</th><th>Placed</th><th>Promised</th>{partner.buyer && <th>Total</th>}<th>Shipments</th></tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.id}>
              <td><Link to={`/orders/${encodeURIComponent(o.id)}`}>{o.number}</Link></td>
              <td><StatusBadge status={o.status} /></td>
              <td>{day(o.placedAt)}</td>
              <td>{day(o.promisedDate)}</td>
              {partner.buyer && <td className="num">{money(o.total)}</td>}
              <td className="num">{o.shipments.totalCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager {...paging.controls(data?.orders.pageInfo)} />
    </section>
  );
}
