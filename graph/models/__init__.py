"""The tables. Import modules under an alias (`from graph.models import orders as m`)
so ORM classes never shadow the GraphQL types of the same name."""

from graph.models import (
    contracts,
    crm,
    early_warnings,
    interactions,
    orders,
    organizations,
    people,
    products,
    relationship,
    security,
    service,
    sync,
)
from graph.models.base import Base

__all__ = [
    "Base",
    "contracts",
    "crm",
    "early_warnings",
    "interactions",
    "orders",
    "organizations",
    "people",
    "products",
    "relationship",
    "security",
    "service",
    "sync",
]
