"""CRM intelligence: the business rules behind tiers, lifecycle, value, churn, warnings and reports.

Each module computes with aggregate SQL through the scoped reader; the GraphQL types and
resolvers live with the other domains (graph/types, graph/resolvers)."""
