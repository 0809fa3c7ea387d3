import { createContext, useContext } from "react";
import { graphql } from "./gql";
import type { OrganizationRole } from "./gql/graphql";

// Who the key acts for. A customer or supplier sees one organization, itself; a distributor
// sees itself and the customers it serves (no supplier, one distributor); an internal key
// sees every organization, suppliers among them, and is no partner.
export const PartnerQuery = graphql(`
  query Partner {
    visible: organizations(first: 1) { totalCount edges { node { id name roles } } }
    distributors: organizations(first: 2, filter: { roles: [DISTRIBUTOR] }) {
      totalCount
      edges { node { id name roles } }
    }
    suppliers: organizations(first: 1, filter: { roles: [SUPPLIER] }) { totalCount }
  }
`);

export interface Partner {
  id: string;
  name: string;
  roles: OrganizationRole[];
  /** Customers read the prices they pay; suppliers and distributors may not. */
  buyer: boolean;
}

type Node = { id: string; name: string; roles: OrganizationRole[] };
type Visible = { totalCount: number; edges: { node: Node }[] };

export function pickPartner(data: { visible: Visible; distributors: Visible; suppliers: { totalCount: number } }): Partner | null {
  let found: Node | undefined;
  if (data.visible.totalCount === 1) found = data.visible.edges[0]?.node;
  else if (data.distributors.totalCount === 1 && data.suppliers.totalCount === 0) found = data.distributors.edges[0]?.node;
  if (!found) return null;
  const buyer = found.roles.includes("CUSTOMER") && !found.roles.includes("DISTRIBUTOR") && !found.roles.includes("SUPPLIER");
  return { ...found, buyer };
}

export const PartnerContext = createContext<Partner | null>(null);

export function usePartner(): Partner {
  const partner = useContext(PartnerContext);
  if (!partner) throw new Error("usePartner outside the signed-in layout");
  return partner;
}
