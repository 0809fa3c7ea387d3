"""The error vocabulary.

Expected failures of a mutation are data: typed `UserError`s in its payload, and the
transaction is rolled back. Bad arguments to a query (a page size over the cap, a
malformed cursor) are `BadInput` GraphQL errors with a code in `extensions`.
Everything else is unexpected and masked before it reaches a client.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from graphql import GraphQLError


class ErrorCode(enum.Enum):
    REQUIRED = "required"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    OUT_OF_RANGE = "out_of_range"
    TOO_LONG = "too_long"
    CONFLICT = "conflict"
    ARCHIVED = "archived"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with a mutation's input, and where (path into the input)."""

    field: tuple[str, ...]
    message: str
    code: ErrorCode


class UserInputError(Exception):
    """Raised inside a write to abort it; the mutation turns it into payload errors."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)

    @classmethod
    def one(cls, field: str | Sequence[str], message: str, code: ErrorCode) -> UserInputError:
        path = (field,) if isinstance(field, str) else tuple(field)
        return cls([FieldError(path, message, code)])


@dataclass
class ErrorCollector:
    """Gathers every problem with an input before failing, so a client fixes them all at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field: str | Sequence[str], message: str, code: ErrorCode) -> None:
        path = (field,) if isinstance(field, str) else tuple(field)
        self.errors.append(FieldError(path, message, code))

    def raise_if_any(self) -> None:
        if self.errors:
            raise UserInputError(self.errors)


class BadInput(GraphQLError):
    """A query argument the server refuses (shown to the client as is, never masked)."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message, extensions={"code": code})


class RequestRefused(Exception):
    """A request refused before execution, answered as a GraphQL error with `code` (graph/app.py)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
