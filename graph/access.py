"""Who is asking, and which rows they may see.

Every read goes through `Reader.select()` (graph/reader.py), which asks `visible()` here
for the condition that limits a table to what the principal may see. Partner rules
(customers, suppliers, distributors bound to one organization) belong in this module and
nowhere else, so top-level lists, nested fields, node(id:), counts and everything later
features add are covered the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement


class PrincipalKind(enum.Enum):
    INTERNAL = "internal"
    CUSTOMER = "customer"
    SUPPLIER = "supplier"
    DISTRIBUTOR = "distributor"


@dataclass(frozen=True)
class Principal:
    """The caller of a request: an internal user or a partner bound to one organization."""

    kind: PrincipalKind
    name: str
    role: str = "admin"
    organization_id: int | None = None
    user_id: int | None = None
    key_prefix: str | None = None

    @property
    def is_internal(self) -> bool:
        return self.kind is PrincipalKind.INTERNAL


# Until authentication lands every request runs as this principal: the embedded,
# single-user deployment the core graph serves.
SYSTEM = Principal(kind=PrincipalKind.INTERNAL, name="system", role="admin")


def visible(model: type, principal: Principal) -> ColumnElement[bool] | None:
    """The condition restricting `model`'s rows to those `principal` may see (None: all)."""
    if principal.is_internal:
        return None
    raise PermissionError(f"no visibility rule for {principal.kind.value} principals on {model.__name__}")
