import { Link } from "react-router-dom";
import { useQuery } from "urql";
import { ErrorNote, Pager, StatusBadge } from "../components";
import { day, edgesOf, label } from "../format";
import { graphql } from "../gql";
import { useCursorPaging } from "../paging";

// Newest first: what the partner raised (and, for a supplier, objections against its lines).
const ServiceQuery = graphql(`
  query PortalServiceRecords($first: Int, $after: String, $last: Int, $before: String, $filter: ServiceRecordFilter) {
    serviceRecords(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node {
        id kind title status openedAt closedAt resolution
        order { id number }
        ... on Complaint { severity orderLine { lineNumber } }
        ... on QualityObjection { severity orderLine { lineNumber } product { sku } }
      } }
    }
  }
`);

export function ServicePage() {
  const paging = useCursorPaging();
  const open = paging.params.get("open");
  const [{ data, error }] = useQuery({
    query: ServiceQuery,
    variables: { ...paging.variables, filter: { open: open === "yes" ? true : open === "no" ? false : null } },
  });
  const records = edgesOf(data?.serviceRecords);
  return (
    <section>
      <h1>Service</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Show
          <select name="open" value={open ?? ""} onChange={(e) => paging.setFilter("open", e.target.value)}>
            <option value="">all</option>
            <option value="yes">open</option>
            <option value="no">closed</option>
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      <p className="count">{data ? `${data.serviceRecords.totalCount} records` : "Loading…"}</p>
      <table data-testid="service-records">
        <thead><tr><th>Kind</th><th>Title</th><th>Order</th><th>Severity</th><th>Status</th><th>Opened</th><th>Resolution</th></tr></thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.id}>
              <td>{label(r.kind)}</td>
              <td>{r.title}</td>
              <td>
                {r.order ? <Link to={`/orders/${encodeURIComponent(r.order.id)}`}>{r.order.number}</Link> : "—"}
                {"orderLine" in r && r.orderLine ? ` line ${r.orderLine.lineNumber}` : ""}
              </td>
              <td>{"severity" in r ? label(r.severity) : "—"}</td>
              <td><StatusBadge status={r.status} /></td>
              <td>{day(r.openedAt)}</td>
              <td>{r.resolution ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager {...paging.controls(data?.serviceRecords.pageInfo)} />
    </section>
  );
}
