"""The requests of the scenarios: PartnerGraph's GraphQL, and PostGraphile's equivalents.

The portal page is the README's own `PortalPage` query, read from README.md so the benchmark
measures what the documentation promises. PostGraphile (Amber preset) names things after the
tables and foreign keys, and has only equality `condition`s, so its queries are the closest
equivalents, with the differences listed in docs/performance.md.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

# Statuses an order can have once placed, minus cancelled: a filter that keeps ~97 % of the
# orders, so the keyset can be followed 900,000 rows deep at the largest scale.
LIST_STATUSES = ("SUBMITTED", "CONFIRMED", "IN_FULFILMENT", "SHIPPED", "DELIVERED", "CLOSED")
LIST_PAGE = 50


@cache
def portal() -> str:
    match = re.search(r"```graphql\n(query PortalPage\b.*?)```", README.read_text(), re.S)
    if match is None:
        raise RuntimeError("README.md has no `query PortalPage` block: the portal scenario reuses it")
    return match.group(1)


NODE = "query Node($id: ID!) { node(id: $id) { id ... on Order { number status customer { name } } } }"

LIST = (
    "query OrderList($after: String, $status: [OrderStatus!]) {"
    f" orders(first: {LIST_PAGE}, after: $after, filter: {{ status: $status }},"
    " orderBy: { field: PLACED_AT, direction: DESC }) {"
    " pageInfo { hasNextPage endCursor }"
    " edges { node { number status placedAt total { amount currency } customer { name region } } } } }"
)

SYNC = """mutation Sync($input: SyncOrdersInput!) {
  syncOrders(input: $input) { errors { code message } results { status errors { field message } } }
}"""

# A customer portal's write while others read (the SQLite locking scenario): a complaint.
COMPLAIN = """mutation Complain($customer: ID!) {
  createComplaint(input: { organizationId: $customer, title: "Bench: late delivery", severity: LOW }) {
    record { id } errors { code message }
  }
}"""

# Optional: the sales-dynamics report, when the product has one (it is being built).
SALES_DYNAMICS = """query SalesDynamics {
  salesDynamics(period: MONTH, groupBy: REGION, placed: { from: "2025-01-01", to: "2025-12-31" }) {
    totalRows truncated
    rows { period key label currency revenue { amount } margin { amount } orderCount }
    totals { currency revenue { amount } margin { amount } orderCount }
  }
}"""

PGL_PORTAL = """query PortalPage($id: BigInt!) {
  organizationByRowId(rowId: $id) {
    id name isCustomer isSupplier isDistributor
    contactsByOrganizationId(first: 5, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {
      edges { node { name title isPrimary email } }
    }
    ordersByCustomerId(first: 20, orderBy: [PLACED_AT_DESC, PRIMARY_KEY_DESC]) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        number status placedAt promisedDate totalAmount currency
        orderLinesByOrderId(first: 20, orderBy: [LINE_NUMBER_ASC]) { edges { node {
          lineNumber quantity unitPrice lineTotal
          productByProductId { sku name }
          organizationBySupplierId { name }
        } } }
        shipmentsByOrderId(first: 20, orderBy: [CREATED_AT_ASC, PRIMARY_KEY_ASC]) {
          edges { node { carrier trackingNumber status expectedAt deliveredAt } }
        }
      } }
    }
    serviceRecordsByOrganizationId(first: 10, condition: { status: "open" }, orderBy: [OPENED_AT_DESC, PRIMARY_KEY_DESC]) {
      edges { node { kind title status openedAt severity productByProductId { sku } evidenceLinks plannedAt purpose } }
    }
  }
}"""

PGL_NODE = "query Node($id: BigInt!) { orderByRowId(rowId: $id) { id number status organizationByCustomerId { name } } }"

PGL_LIST = (
    "query OrderList($after: Cursor) {"
    f" allOrders(first: {LIST_PAGE}, after: $after, orderBy: [PLACED_AT_DESC, PRIMARY_KEY_DESC]) {{"
    " pageInfo { hasNextPage endCursor }"
    " edges { node { number status placedAt totalAmount currency organizationByCustomerId { name region } } } } }"
)
