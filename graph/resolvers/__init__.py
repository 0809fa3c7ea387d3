"""What each field and mutation does: filters, relations and writes, per domain.

Resolvers work on rows and plain values; they never import GraphQL types."""
