"""PartnerGraph: the GraphQL API for supply-chain customer relationships."""

__version__ = "0.1.0"
