"""Input checks shared by every mutation; each adds typed errors to an ErrorCollector."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from graph.errors import ErrorCode, ErrorCollector
from graph.ids import decode_global_id
from graph.writes import UnitOfWork

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def text(errors: ErrorCollector, field: str, value: Any, *, required: bool = False, max_length: int = 300) -> None:
    if value is None:
        if required:
            errors.add(field, "Required.", ErrorCode.REQUIRED)
        return
    if required and not value.strip():
        errors.add(field, "Must not be blank.", ErrorCode.REQUIRED)
    elif len(value) > max_length:
        errors.add(field, f"At most {max_length} characters.", ErrorCode.TOO_LONG)


def email(errors: ErrorCollector, field: str, value: str | None) -> None:
    if value is not None and (len(value) > 254 or not _EMAIL.match(value)):
        errors.add(field, "Not an email address.", ErrorCode.INVALID)


def currency(errors: ErrorCollector, field: str, value: str | None) -> None:
    if value is not None and not _CURRENCY.match(value):
        errors.add(field, "A three-letter ISO 4217 code in capitals, e.g. CNY.", ErrorCode.INVALID)


def amount(
    errors: ErrorCollector, field: str, value: Decimal | None, *, positive: bool = False, scale: int = 4
) -> None:
    if value is None:
        return
    try:
        finite = value.is_finite()
    except (AttributeError, InvalidOperation):
        finite = False
    if not finite:
        errors.add(field, "Not a finite number.", ErrorCode.INVALID)
        return
    if value < 0 or (positive and value == 0):
        errors.add(field, "Must be greater than zero." if positive else "Must not be negative.", ErrorCode.OUT_OF_RANGE)
    elif value.as_tuple().exponent < -scale:  # type: ignore[operator]
        errors.add(field, f"At most {scale} decimal places.", ErrorCode.INVALID)
    elif abs(value) >= Decimal(10) ** 13:
        errors.add(field, "Too large.", ErrorCode.OUT_OF_RANGE)


def date_order(errors: ErrorCollector, field: str, start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        errors.add(field, "Must not be before the start date.", ErrorCode.OUT_OF_RANGE)


def int_range(errors: ErrorCollector, field: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        errors.add(field, f"Must be between {low} and {high}.", ErrorCode.OUT_OF_RANGE)


async def reference(
    uow: UnitOfWork,
    errors: ErrorCollector,
    field: str | tuple[str, ...],
    global_id: str | None,
    model: type,
    type_names: str | tuple[str, ...],
    *,
    required: bool = True,
    check: Any = None,
) -> Any:
    """Resolve an input id to a record the caller may see; report it on `field` otherwise.

    `check(obj)` may return an error message (e.g. "is not a supplier")."""
    if global_id is None:
        if required:
            errors.add(field, "Required.", ErrorCode.REQUIRED)
        return None
    decoded = decode_global_id(global_id, type_names)
    if decoded is None:
        names = type_names if isinstance(type_names, str) else " or ".join(type_names)
        errors.add(field, f"Not the id of a {names}.", ErrorCode.INVALID)
        return None
    obj = await uow.find(model, decoded[1])
    if obj is None:
        errors.add(field, "No record with this id.", ErrorCode.NOT_FOUND)
        return None
    if getattr(obj, "archived_at", None) is not None:
        errors.add(field, "This record is archived.", ErrorCode.ARCHIVED)
        return None
    if check is not None:
        problem = check(obj)
        if problem:
            errors.add(field, problem, ErrorCode.INVALID)
            return None
    return obj

