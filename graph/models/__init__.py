"""The tables. Import modules under an alias (`from graph.models import orders as m`)
so ORM classes never shadow the GraphQL types of the same name."""

from graph.models import (
    contracts,
    interactions,
    orders,
    organizations,
    people,
    products,
    security,
    service,
    sync,
)
from graph.models.base import Base

__all__ = [
    "Base",
    "contracts",
    "interactions",
    "orders",
    "organizations",
    "people",
    "products",
    "security",
    "service",
    "sync",
]
