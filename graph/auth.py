"""Authentication: API keys and JWT bearer tokens from an external identity provider.

API keys look like `pgk_<prefix>_<secret>`; only the SHA-256 of the whole key is stored
(keys carry 256 random bits, so a slow password hash would buy nothing), with the prefix in
clear to find the row and to name the key in logs and the audit trail. A bad, expired or
revoked credential is refused exactly like a missing one: no data, a 401.

A process trusts a key it has checked for `api_key_cache_seconds` (`KnownKeys`), so a portal
making many requests costs one key lookup per few seconds, not one per request. Revoking a key
through this process forgets it at once (at commit); other processes see the revocation when
their entry runs out. Expiry is checked on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import bindparam, event, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graph.access import INTERNAL_ROLES, PARTNER_ROLES, ROLES, Principal
from graph.db import SQLITE_IMMEDIATE, SQLITE_LOCK_WAIT_MS
from graph.errors import ErrorCode, ErrorCollector
from graph.ids import decode_global_id
from graph.models.base import utcnow
from graph.models.organizations import Organization
from graph.models.people import User
from graph.models.security import ApiKey
from graph.prepared import fetch_all, keep
from graph.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "pgk_"
SCOPES = ("read", "write")
# last_used_at is written at most this often per key, so reads don't turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AuthenticationError(Exception):
    """No usable credential; the message is safe to show."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> tuple[str, str, str]:
    """(the key to show once, its visible prefix, its hash)."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, _hash(key)


@dataclass
class NewKey:
    api_key: ApiKey
    key: str  # shown once, never stored


async def create_api_key(
    session: AsyncSession,
    *,
    role: str,
    name: str,
    organization_id: int | str | None = None,
    user_id: int | str | None = None,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> NewKey:
    """Validate and store a key; raises UserInputError with typed errors on bad input."""
    errors = ErrorCollector()
    if role not in ROLES:
        errors.add("role", f"One of: {', '.join(ROLES)}.", ErrorCode.INVALID)
    if not name or not name.strip() or len(name) > 200:
        errors.add("name", "A name of 1 to 200 characters.", ErrorCode.INVALID)
    unknown = sorted(set(scopes or ()) - set(SCOPES))
    if unknown or (scopes is not None and not scopes):
        errors.add("scopes", f"One or more of: {', '.join(SCOPES)}.", ErrorCode.INVALID)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= utcnow()):
        errors.add("expiresAt", "A future, timezone-aware time.", ErrorCode.OUT_OF_RANGE)
    org = await _lookup(session, errors, "organizationId", organization_id, Organization, "Organization")
    user = await _lookup(session, errors, "userId", user_id, User, "User")
    if role in PARTNER_ROLES:
        if org is None and organization_id is None:
            errors.add("organizationId", f"A {role} key is bound to one organization.", ErrorCode.REQUIRED)
        elif org is not None and not getattr(org, f"is_{role}"):
            errors.add("organizationId", f"This organization does not hold the {role} role.", ErrorCode.INVALID)
    elif organization_id is not None:
        errors.add("organizationId", "Internal keys are not bound to an organization.", ErrorCode.INVALID)
    if role == "sales" and user is None and user_id is None:
        errors.add("userId", "A sales key acts for one sales rep: pass the user.", ErrorCode.REQUIRED)
    errors.raise_if_any()
    key, prefix, digest = generate_key()
    api_key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        secret_hash=digest,
        role=role,
        organization_id=org.id if org else None,
        user_id=user.id if user else None,
        scopes=list(scopes or (["read", "write"] if role not in ("analyst", "read_only") else ["read"])),
        expires_at=expires_at,
    )
    session.add(api_key)
    await session.flush()
    return NewKey(api_key, key)


async def _lookup(session, errors, field, value, model, type_name):  # noqa: ANN001, ANN202
    if value is None:
        return None
    record_id = value if isinstance(value, int) else None
    if record_id is None:
        text = str(value)
        decoded = decode_global_id(text, type_name)
        record_id = decoded[1] if decoded else (int(text) if text.isdigit() else None)
    obj = await session.get(model, record_id) if record_id is not None else None
    if obj is None or obj.archived_at is not None:
        errors.add(field, f"No {type_name} with this id.", ErrorCode.NOT_FOUND)
        return None
    return obj


async def revoke_api_key(session: AsyncSession, prefix: str) -> ApiKey | None:
    api_key = (await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))).scalar_one_or_none()
    if api_key is not None and api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await session.flush()
        KNOWN_KEYS.forget_at_commit(session, prefix)
    return api_key


def principal_of_key(api_key: Any) -> Principal:
    """The principal of a key (an ApiKey or a row of its table)."""
    return Principal.for_role(
        api_key.role,
        name=f"key:{api_key.name}",
        organization_id=api_key.organization_id,
        user_id=api_key.user_id,
        key_prefix=api_key.prefix,
        scopes=tuple(api_key.scopes or ()),
    )


def credential_of(headers) -> str | None:  # noqa: ANN001 - any mapping of headers
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("Send `Authorization: Bearer <API key or token>`.")
        return token.strip()
    return headers.get("x-api-key")


async def authenticate(
    credential: str | None,
    settings: Settings,
    session_factory: async_sessionmaker,
    session: AsyncSession | None = None,
) -> Principal:
    """The principal of `credential`. An API key this process checked within
    `api_key_cache_seconds` is not looked up again; otherwise it is looked up on `session` when
    given (the request's own read session, so the request takes one pooled connection, not
    two), else on a session of its own."""
    if credential is None:
        raise AuthenticationError("Authentication required: send `Authorization: Bearer <API key or token>`.")
    if credential.startswith(KEY_PREFIX):
        return await _authenticate_key(credential, settings, session_factory, session)
    return _authenticate_jwt(credential, settings)


# Built once: the statement (and its compiled form) is reused by every request.
_KEY_BY_PREFIX = keep(select(*ApiKey.__table__.columns).where(ApiKey.__table__.c.prefix == bindparam("prefix")))


_clock = time.monotonic  # tests move it


@dataclass(slots=True)
class _Known:
    principal: Principal
    key_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    checked_at: float  # _clock() of the lookup


class KnownKeys:
    """The keys this process checked recently, by database and the key's hash (so only the
    full key finds its entry), oldest first; at most `limit`, the least recently checked go."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._entries: OrderedDict[tuple[str, str], _Known] = OrderedDict()

    def get(self, database: str, digest: str, max_age: float) -> _Known | None:
        known = self._entries.get((database, digest))
        if known is not None and _clock() - known.checked_at < max_age:
            return known
        return None

    def put(self, database: str, digest: str, known: _Known) -> None:
        self._entries[(database, digest)] = known
        self._entries.move_to_end((database, digest))
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def forget(self, prefix: str) -> None:
        for entry in [entry for entry, known in self._entries.items() if known.principal.key_prefix == prefix]:
            del self._entries[entry]

    def forget_at_commit(self, session: AsyncSession, prefix: str) -> None:
        """Forget the key when `session` commits: not before, or a request in between could
        look the key up again and keep it as it was."""
        event.listen(session.sync_session, "after_commit", lambda _: self.forget(prefix), once=True)


KNOWN_KEYS = KnownKeys()


async def _authenticate_key(
    key: str, settings: Settings, session_factory: async_sessionmaker, session: AsyncSession | None
) -> Principal:
    digest = _hash(key)
    now = utcnow()
    known = KNOWN_KEYS.get(settings.database_url, digest, settings.api_key_cache_seconds)
    if known is None:
        known = await _look_up_key(key, digest, session_factory, session)
        if settings.api_key_cache_seconds > 0:
            KNOWN_KEYS.put(settings.database_url, digest, known)
    if known.expires_at is not None and known.expires_at <= now:
        raise AuthenticationError("This API key has expired.")
    if known.last_used_at is None or now - known.last_used_at > LAST_USED_RESOLUTION:
        if session is not None:
            await session.close()  # hand its connection back: never hold one while waiting for another
        previous, known.last_used_at = known.last_used_at, now
        if not await _touch(session_factory, known.key_id, now):
            known.last_used_at = previous  # a later request records it
    return known.principal


async def _look_up_key(key: str, digest: str, session_factory: async_sessionmaker, session: AsyncSession | None) -> _Known:
    _, _, rest = key.partition(KEY_PREFIX)
    prefix = rest.split("_", 1)[0]
    if session is None:
        async with session_factory() as own:
            found = await fetch_all(own, _KEY_BY_PREFIX, {"prefix": prefix})
    else:
        found = await fetch_all(session, _KEY_BY_PREFIX, {"prefix": prefix})
    api_key = found[0] if found else None
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, digest):
        raise AuthenticationError("Invalid API key.")
    if api_key.revoked_at is not None:
        raise AuthenticationError("This API key has been revoked.")
    return _Known(principal_of_key(api_key), api_key.id, api_key.expires_at, api_key.last_used_at, _clock())


# How long recording a key's last use waits for SQLite's write lock. It is bookkeeping: a read
# must not queue behind a bulk sync for it (with the busy timeout it waited 5 s, then failed).
TOUCH_LOCK_WAIT_MS = 50


async def _touch(session_factory: async_sessionmaker, key_id: int, now: datetime) -> bool:
    """Record when a key was last used, only when the stored time is older; whether it was
    recorded. In a transaction of its own that takes the write lock first (SQLite cannot upgrade
    a read to a write once another writer has committed), waiting for it at most
    TOUCH_LOCK_WAIT_MS; never failing the request for bookkeeping."""
    try:
        async with session_factory() as session, session.begin():
            await session.connection(execution_options={SQLITE_IMMEDIATE: True, SQLITE_LOCK_WAIT_MS: TOUCH_LOCK_WAIT_MS})
            await session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id)
                .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
                .values(last_used_at=now)
            )
        return True
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlite_errorname", None) in {"SQLITE_BUSY", "SQLITE_LOCKED"}:
            log.info("last use of API key %s not recorded yet: another writer holds the database", key_id)
        else:
            log.warning("could not record the last use of API key %s; the request goes on", key_id, exc_info=True)
        return False


def _authenticate_jwt(token: str, settings: Settings) -> Principal:
    key = settings.jwt_public_key or settings.jwt_secret
    if key is None:
        raise AuthenticationError("Invalid API key.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=settings.jwt_algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub"] + (["iss"] if settings.jwt_issuer else []) + (["aud"] if settings.jwt_audience else [])},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationError(f"Invalid bearer token: {exc}.") from exc
    role = claims.get(settings.jwt_role_claim)
    if role not in ROLES:
        raise AuthenticationError(f"The token's `{settings.jwt_role_claim}` claim must be one of: {', '.join(ROLES)}.")
    organization_id = _claim_id(claims.get(settings.jwt_organization_claim), "Organization")
    user_id = _claim_id(claims.get(settings.jwt_user_claim), "User")
    if role in PARTNER_ROLES and organization_id is None:
        raise AuthenticationError(f"A {role} token needs the `{settings.jwt_organization_claim}` claim.")
    if role in INTERNAL_ROLES:
        organization_id = None
    return Principal.for_role(role, name=f"jwt:{claims['sub']}", organization_id=organization_id, user_id=user_id)


def _claim_id(value: object, type_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    decoded = decode_global_id(text, type_name)
    if decoded:
        return decoded[1]
    return int(text) if text.isdigit() else None
