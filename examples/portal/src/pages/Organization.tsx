import { useQuery } from "urql";
import { ErrorNote } from "../components";
import { edgesOf, label } from "../format";
import { graphql } from "../gql";
import { usePartner } from "../partner";

const OrganizationQuery = graphql(`
  query PortalOrganization($id: ID!) {
    node(id: $id) {
      ... on Organization {
        id name legalName email phone website region status roles
        addresses { kind line1 line2 city postalCode country }
        contacts(first: 50) {
          totalCount
          edges { node { id name title email phone isPrimary } }
        }
      }
    }
  }
`);

export function OrganizationPage() {
  const partner = usePartner();
  const [{ data, error }] = useQuery({ query: OrganizationQuery, variables: { id: partner.id } });
  const org = data?.node && "name" in data.node ? data.node : null;
  if (!org) return error ? <ErrorNote error={error} /> : <p className="loading">Loading…</p>;
  const contacts = edgesOf(org.contacts);
  return (
    <section>
      <h1>{org.name}</h1>
      <dl className="facts">
        <dt>Legal name</dt><dd>{org.legalName ?? "—"}</dd>
        <dt>Roles</dt><dd>{org.roles.map(label).join(", ")}</dd>
        <dt>Region</dt><dd>{org.region ?? "—"}</dd>
        <dt>E-mail</dt><dd>{org.email ?? "—"}</dd>
        <dt>Phone</dt><dd>{org.phone ?? "—"}</dd>
        <dt>Status</dt><dd>{label(org.status)}</dd>
      </dl>
      <h2>Addresses</h2>
      <ul className="plain">
        {org.addresses.map((a, i) => (
          <li key={i}>
            <b>{label(a.kind)}</b>: {[a.line1, a.line2, a.postalCode, a.city, a.country].filter(Boolean).join(", ")}
          </li>
        ))}
      </ul>
      <h2>Contacts ({org.contacts.totalCount})</h2>
      <table data-testid="contacts">
        <thead><tr><th>Name</th><th>Title</th><th>E-mail</th><th>Phone</th></tr></thead>
        <tbody>
          {contacts.map((c) => (
            <tr key={c.id}>
              <td>{c.name}{c.isPrimary && <span className="badge">primary</span>}</td>
              <td>{c.title ?? "—"}</td>
              <td>{c.email ?? "—"}</td>
              <td>{c.phone ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
