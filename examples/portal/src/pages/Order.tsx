import { useParams } from "react-router-dom";
import { useQuery } from "urql";
import { ErrorNote, StatusBadge } from "../components";
import { day, edgesOf, label, money } from "../format";
import { graphql } from "../gql";
import { usePartner } from "../partner";
import { NotFoundPage } from "./NotFound";
import { RaiseServiceRecord } from "./RaiseServiceRecord";

// Any order id typed into the URL goes to node(id:): the server answers null for an order that
// does not exist and for one of another partner alike, so both read "not found".
const OrderQuery = graphql(`
  query PortalOrder($id: ID!, $buyer: Boolean!) {
    node(id: $id) {
      __typename
      ... on Order {
        id number status placedAt requestedDate promisedDate currency
        total @include(if: $buyer) { amount currency }
        lines(first: 100) { edges { node {
          id lineNumber quantity
          unitPrice @include(if: $buyer) { amount currency }
          lineTotal @include(if: $buyer) { amount currency }
          product { sku name }
          supplier { name }
        } } }
        shipments(first: 20) { edges { node {
          id carrier trackingNumber status shippedAt expectedAt deliveredAt
        } } }
        serviceRecords(first: 50) { edges { node {
          id kind title status openedAt
          ... on Complaint { severity orderLine { lineNumber } }
          ... on QualityObjection { severity orderLine { lineNumber } }
        } } }
      }
    }
  }
`);

export function OrderPage() {
  const { id = "" } = useParams();
  const partner = usePartner();
  const [{ data, error, fetching }, refetch] = useQuery({
    query: OrderQuery,
    variables: { id, buyer: partner.buyer },
  });
  if (fetching && !data) return <p className="loading">Loading…</p>;
  const order = data?.node?.__typename === "Order" ? data.node : null;
  if (!order) return <NotFoundPage what="Order" />;
  const lines = edgesOf(order.lines);
  const shipments = edgesOf(order.shipments);
  const records = edgesOf(order.serviceRecords);
  const customer = partner.roles.includes("CUSTOMER") && partner.buyer;
  // Suppliers are not visible to customers: the column is for a supplier looking at its lines.
  const showSupplier = lines.some((l) => l.supplier);
  return (
    <section>
      <h1>Order {order.number} <StatusBadge status={order.status} /></h1>
      <ErrorNote error={error} />
      <dl className="facts">
        <dt>Placed</dt><dd>{day(order.placedAt)}</dd>
        <dt>Requested</dt><dd>{day(order.requestedDate)}</dd>
        <dt>Promised</dt><dd>{day(order.promisedDate)}</dd>
        {partner.buyer && <><dt>Total</dt><dd>{money(order.total)}</dd></>}
      </dl>
      <h2>Lines</h2>
      <table data-testid="lines">
        <thead>
          <tr><th>#</th><th>Product</th><th>Quantity</th>{partner.buyer && <><th>Unit price</th><th>Line total</th></>}{showSupplier && <th>Supplier</th>}</tr>
        </thead>
        <tbody>
          {lines.map((l) => (
            <tr key={l.id}>
              <td>{l.lineNumber}</td>
              <td>{l.product ? `${l.product.sku} ${l.product.name}` : "—"}</td>
              <td className="num">{l.quantity}</td>
              {partner.buyer && <><td className="num">{money(l.unitPrice)}</td><td className="num">{money(l.lineTotal)}</td></>}
              {showSupplier && <td>{l.supplier?.name ?? "—"}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Shipments</h2>
      {shipments.length === 0 ? <p>Not shipped yet.</p> : (
        <table data-testid="order-shipments">
          <thead><tr><th>Carrier</th><th>Tracking</th><th>Status</th><th>Shipped</th><th>Expected</th><th>Delivered</th></tr></thead>
          <tbody>
            {shipments.map((s) => (
              <tr key={s.id}>
                <td>{s.carrier}</td><td>{s.trackingNumber ?? "—"}</td><td><StatusBadge status={s.status} /></td>
                <td>{day(s.shippedAt)}</td><td>{day(s.expectedAt)}</td><td>{day(s.deliveredAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Complaints and quality objections</h2>
      {records.length === 0 ? <p>None raised.</p> : (
        <table data-testid="order-service">
          <thead><tr><th>Kind</th><th>Title</th><th>Line</th><th>Severity</th><th>Status</th><th>Opened</th></tr></thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.id}>
                <td>{label(r.kind)}</td>
                <td>{r.title}</td>
                <td>{"orderLine" in r && r.orderLine ? r.orderLine.lineNumber : "—"}</td>
                <td>{"severity" in r ? label(r.severity) : "—"}</td>
                <td><StatusBadge status={r.status} /></td>
                <td>{day(r.openedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {customer && (
        <RaiseServiceRecord
          organizationId={partner.id}
          orderId={order.id}
          lines={lines.map((l) => ({ id: l.id, label: `${l.lineNumber}: ${l.product?.sku ?? ""} ${l.product?.name ?? ""}` }))}
          onRaised={() => refetch({ requestPolicy: "network-only" })}
        />
      )}
    </section>
  );
}
