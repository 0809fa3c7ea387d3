"""Bounded queries: what a request may cost, how long it may run, who may introspect.

Every operation is priced on its parsed and validated document, before anything executes,
in the spirit of Shopify's calculated query cost. The price is the most objects the
response can hold:

- a scalar or enum field costs 0; an object, interface or union field costs 1 plus its
  selections;
- in a connection, `edges` is a list: its subtree is multiplied by the page size, which is
  `first` or `last` (the larger if both), `default_page_size` when neither is given, and at
  most `max_page_size` (asking for more is an argument error of its own);
- `nodes(ids:)` multiplies its subtree by the number of ids;
- other lists of objects (an organization's addresses, a payload's user errors) are small
  embedded values and cost as one object;
- each root mutation field costs 10 more: it writes;
- fragments and variables are resolved; fields under `@skip(if: true)` or
  `@include(if: false)` are free; selections under type conditions are all counted, so
  the price is an upper bound.

A request refused here — over `max_query_cost`, over the principal's remaining budget,
or introspection by a partner when `partner_introspection` is off — is a GraphQL error
with nothing executed. Every priced response reports its cost in `extensions.cost`.

Budgets are token buckets keyed by principal: `cost_budget` points, refilled at
`cost_refill_per_second`. They live behind `CostBudgets`. Without `redis_url`,
`InMemoryCostBudgets` keeps them in this process (each app built by `create_app` has its
own): right for one process, but N processes would give each principal N budgets. With
`redis_url`, `RedisCostBudgets` keeps them in Redis, one atomic Lua script per `take`, so
every process spends from the same bucket. If Redis cannot be reached the request is
refused (fail closed) with `BUDGETS_UNAVAILABLE` and a Retry-After, never let through
unpriced.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLNamedType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    get_named_type,
    is_leaf_type,
    is_object_type,
    type_from_ast,
    validate,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from graphql.utilities import get_operation_ast
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from graph.documents import PerDocument

if TYPE_CHECKING:
    from graph.access import Principal
    from graph.settings import Settings

MUTATION_COST = 10
BUDGETS_RETRY_SECONDS = 5  # Retry-After when the shared budget store is unreachable

log = logging.getLogger("partnergraph")


# --- pricing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSizes:
    """How big a page the pricing assumes when none (or too much) is asked for."""

    default: int
    maximum: int
    max_batch_ids: int


def query_cost(
    schema: GraphQLSchema,
    document: Any,
    *,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    pages: PageSizes,
) -> int | None:
    """The price of the operation `operation_name` in `document`, or None when it cannot be
    priced because execution will refuse it anyway (no such operation, bad variables)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    # Prices depend only on scalar variables (page sizes, id lists, @skip/@include flags):
    # coercing input objects too would redo, for a 500-order sync, what execution does anyway.
    definitions = [d for d in operation.variable_definitions or () if _is_scalar_variable(schema, d)]
    # The same document with the same scalar variables has the same price: priced once.
    key = _cost_key(schema, operation_name, pages, definitions, variables or {})
    if key is None:
        return _price(schema, document, operation, definitions, variables, pages)
    return _PRICES.get(document, key, lambda: _price(schema, document, operation, definitions, variables, pages))


_PRICES = PerDocument(1024)


def _cost_key(
    schema: GraphQLSchema,
    operation_name: str | None,
    pages: PageSizes,
    definitions: list[Any],
    variables: dict[str, Any],
) -> tuple | None:
    """What a price depends on, or None when a variable's value cannot be a key."""
    values = tuple(_key_part(d, variables.get(d.variable.name.value)) for d in definitions)
    key = (id(schema), operation_name, pages, values)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _price_blind(definition: Any) -> bool:
    """A single ID or String: no price reads its value (a node's id, a search text), only
    whether it is there and of a usable kind, so requests differing in it share one price."""
    named = definition.type.type if isinstance(definition.type, NonNullTypeNode) else definition.type
    return isinstance(named, NamedTypeNode) and named.name.value in ("ID", "String")


def _key_part(definition: Any, value: Any) -> tuple[str, Any]:
    return definition.variable.name.value, type(value) if _price_blind(definition) else _frozen(value)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _price(
    schema: GraphQLSchema,
    document: Any,
    operation: Any,
    definitions: list[Any],
    variables: dict[str, Any] | None,
    pages: PageSizes,
) -> int | None:
    coerced = get_variable_values(schema, definitions, variables or {})
    if isinstance(coerced, list):
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    pricer = _Pricer(schema, fragments, coerced, pages)
    per_field = MUTATION_COST if operation.operation is OperationType.MUTATION else 0
    return pricer.selections([(root, operation.selection_set)], per_root_field=per_field)


def _is_scalar_variable(schema: GraphQLSchema, definition: Any) -> bool:
    variable_type = type_from_ast(schema, definition.type)
    return variable_type is not None and is_leaf_type(get_named_type(variable_type))


@dataclass
class _Selected:
    field: GraphQLField
    node: FieldNode


class _Pricer:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        pages: PageSizes,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.pages = pages

    def selections(
        self, scopes: list[tuple[GraphQLNamedType, SelectionSetNode]], *, per_root_field: int = 0
    ) -> int:
        """The price of selection sets that merge into one result object (one response key
        each, as execution merges them)."""
        total = 0
        for selected in self._collect(scopes).values():
            total += per_root_field + self._field(selected)
        return total

    def _field(self, selected: list[_Selected]) -> int:
        first = selected[0]
        named = get_named_type(first.field.type)
        if is_leaf_type(named):
            return 0
        children = [
            (get_named_type(s.field.type), s.node.selection_set) for s in selected if s.node.selection_set
        ]
        inner = self.selections(children)
        if first.node.name.value == "nodes" and "ids" in first.field.args:
            ids = self._arguments(first).get("ids") or []
            return min(len(ids), self.pages.max_batch_ids) * (1 + inner)
        if _is_connection(named):
            return 1 + self._connection(children, self._page_size(first))
        return 1 + inner

    def _connection(self, scopes: list[tuple[GraphQLNamedType, SelectionSetNode]], page: int) -> int:
        """A connection's own fields: `edges` is the list, paid once per item on the page."""
        total = 0
        for key_fields in self._collect(scopes).values():
            cost = self._field(key_fields)
            total += cost * page if key_fields[0].node.name.value == "edges" else cost
        return total

    def _page_size(self, selected: _Selected) -> int:
        arguments = self._arguments(selected)
        asked = [n for n in (arguments.get("first"), arguments.get("last")) if isinstance(n, int)]
        size = max(asked) if asked else self.pages.default
        return max(0, min(size, self.pages.maximum))

    def _arguments(self, selected: _Selected) -> dict[str, Any]:
        try:
            return get_argument_values(selected.field, selected.node, self.variables)
        except GraphQLError:
            return {}  # execution reports the bad argument; price the field as if it had none

    def _collect(self, scopes: list[tuple[GraphQLNamedType, SelectionSetNode]]) -> dict[str, list[_Selected]]:
        collected: dict[str, list[_Selected]] = {}
        for parent, selection_set in scopes:
            self._collect_into(collected, parent, selection_set, set())
        return collected

    def _collect_into(
        self,
        collected: dict[str, list[_Selected]],
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode,
        seen: set[str],
    ) -> None:
        for node in selection_set.selections:
            if not self._included(node):
                continue
            if isinstance(node, FieldNode):
                field = _field_definition(parent, node.name.value)
                if field is not None:
                    key = node.alias.value if node.alias else node.name.value
                    collected.setdefault(key, []).append(_Selected(field, node))
            elif isinstance(node, InlineFragmentNode):
                self._collect_into(collected, self._condition(node, parent), node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None and fragment.name.value not in seen:
                    scope = self._condition(fragment, parent)
                    self._collect_into(collected, scope, fragment.selection_set, seen | {fragment.name.value})

    def _condition(
        self, node: InlineFragmentNode | FragmentDefinitionNode, parent: GraphQLNamedType
    ) -> GraphQLNamedType:
        if node.type_condition is None:
            return parent
        return self.schema.get_type(node.type_condition.name.value) or parent

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)


def _field_definition(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def _is_connection(named: GraphQLNamedType) -> bool:
    return is_object_type(named) and {"edges", "pageInfo"} <= set(named.fields)  # type: ignore[union-attr]


# --- budgets ------------------------------------------------------------------------------


class CostBudgets(Protocol):
    """Where principals' budgets live. `take` spends `cost` points from `key`'s bucket if it
    holds that many, atomically, and answers (allowed, points left afterwards); `take(key, 0)`
    only looks. A store that cannot answer raises `BudgetStoreUnavailable`."""

    capacity: float
    refill_per_second: float

    async def take(self, key: str, cost: float) -> tuple[bool, float]: ...


class InMemoryCostBudgets:
    """Token buckets in this process: full at first sight, refilled continuously."""

    def __init__(
        self, capacity: float, refill_per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (points, when counted)

    async def take(self, key: str, cost: float) -> tuple[bool, float]:
        # No await between reading and writing the bucket: atomic under asyncio.
        now = self._clock()
        points, then = self._buckets.get(key, (self.capacity, now))
        points = min(self.capacity, points + (now - then) * self.refill_per_second)
        allowed = cost <= points
        if allowed:
            points -= cost
        if points >= self.capacity:
            self._buckets.pop(key, None)  # a full bucket is the same as none: keep memory bounded
        else:
            self._buckets[key] = (points, now)
        return allowed, points


class BudgetStoreUnavailable(Exception):
    """The shared budget store did not answer; the request is refused, not let through."""


# KEYS[1]: the bucket; ARGV: capacity, refill per second, cost, key lifetime cap (ms).
# The clock is Redis's own (TIME), so processes with skewed clocks share one bucket
# fairly. A bucket is a hash {points, at}; a full bucket is deleted, an unfull one expires
# when it would have refilled anyway. Numbers go back as strings: Lua→Redis truncates.
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1])
local at = tonumber(state[2])
if points == nil or at == nil then
  points = capacity
  at = now
end
points = math.min(capacity, points + math.max(0, now - at) * refill)
local allowed = 0
if cost <= points then
  points = points - cost
  allowed = 1
end
if points >= capacity then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
  local ttl = math.ceil((capacity - points) / refill * 1000) + 1000
  redis.call('PEXPIRE', KEYS[1], math.min(ttl, tonumber(ARGV[4])))
end
return {allowed, tostring(points)}
"""


class RedisCostBudgets:
    """Token buckets in Redis, shared by every process that points at the same Redis and
    key prefix. Each `take` is one atomic script; a Redis that does not answer within
    `timeout` seconds raises `BudgetStoreUnavailable`."""

    def __init__(
        self,
        url: str,
        capacity: float,
        refill_per_second: float,
        *,
        prefix: str = "partnergraph",
        timeout: float = 1.0,
    ) -> None:
        import redis.asyncio as redis  # only deployments that set redis_url need the client loaded

        self.capacity = capacity
        self.refill_per_second = refill_per_second
        # The bucket's shape is in its key: apps with other budgets never share a bucket.
        self._prefix = f"{prefix}:budget:{capacity:g}:{refill_per_second:g}:"
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        self._script = self._client.register_script(_TAKE_SCRIPT)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, TimeoutError)

    async def take(self, key: str, cost: float) -> tuple[bool, float]:
        max_ttl_ms = math.ceil(self.capacity / self.refill_per_second * 1000) + 1000
        try:
            allowed, points = await self._script(
                keys=[self._prefix + key], args=[self.capacity, self.refill_per_second, cost, max_ttl_ms]
            )
        except self._errors as exc:
            raise BudgetStoreUnavailable(f"the budget store did not answer: {exc}") from exc
        return bool(int(allowed)), float(points)

    async def aclose(self) -> None:
        await self._client.aclose()


def budgets_for(settings: Settings) -> CostBudgets:
    """The store `settings` ask for: Redis when `redis_url` is set, else this process."""
    if settings.redis_url:
        return RedisCostBudgets(
            settings.redis_url,
            settings.cost_budget,
            settings.cost_refill_per_second,
            prefix=settings.redis_key_prefix,
        )
    return InMemoryCostBudgets(settings.cost_budget, settings.cost_refill_per_second)


class BudgetStores:
    """One budget store per schema (so per app) and budget shape, built from the first
    request's settings."""

    def __init__(self, build: Callable[[Settings], CostBudgets] | None = None) -> None:
        self._build = build or budgets_for
        self._stores: dict[tuple[float, float, str | None, str], CostBudgets] = {}

    def for_settings(self, settings: Settings) -> CostBudgets:
        shape = (
            settings.cost_budget,
            settings.cost_refill_per_second,
            settings.redis_url,
            settings.redis_key_prefix,
        )
        if shape not in self._stores:
            self._stores[shape] = self._build(settings)
        return self._stores[shape]

    async def aclose(self) -> None:
        """Close the stores' connections (Redis); in-memory stores have none."""
        for store in self._stores.values():
            close = getattr(store, "aclose", None)
            if close is not None:
                await close()
        self._stores.clear()


def budget_key(principal: Principal) -> str:
    """The bucket a principal spends from: one per partner key, one per internal user."""
    return f"{principal.kind.value}:{principal.name}:{principal.key_prefix}"


# --- the extensions -----------------------------------------------------------------------


def _refusal(message: str, code: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


class QueryCostLimiter(SchemaExtension):
    """Prices each operation once it is validated and refuses it before execution when it is
    over the per-request limit or the principal's budget, or is a partner's introspection
    while that is turned off. Reports the price in `extensions.cost`."""

    def __init__(self, stores: BudgetStores) -> None:
        super().__init__()
        self._stores = stores
        self._report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        # Validation has passed by now (invalid documents never reach execution). A result
        # set before the yield is the response: strawberry then executes nothing.
        execution_context = self.execution_context
        context = execution_context.context
        settings, principal = getattr(context, "settings", None), getattr(context, "principal", None)
        if settings is not None and principal is not None and execution_context.graphql_document is not None:
            error = await self._refusal(settings, principal)
            if error is not None:
                execution_context.result = GraphQLExecutionResult(data=None, errors=[error])
        # Without settings or a principal this is not a request of ours: no one to charge.
        yield

    async def _refusal(self, settings: Settings, principal: Principal) -> GraphQLError | None:
        execution_context = self.execution_context
        schema = execution_context.schema._schema
        document = execution_context.graphql_document
        introspection_allowed = settings.partner_introspection or principal.is_internal
        if not introspection_allowed and _introspects(schema, document):
            return _refusal("Introspection is turned off for partners.", "INTROSPECTION_DISABLED")
        cost = query_cost(
            schema,
            document,
            operation_name=execution_context.operation_name,
            variables=execution_context.variables,
            pages=PageSizes(settings.default_page_size, settings.max_page_size, settings.max_batch_ids),
        )
        if cost is None:
            return None  # execution refuses the request itself (unknown operation, bad variables)
        budgets = self._stores.for_settings(settings)
        try:
            return await self._charge(budgets, budget_key(principal), cost, settings)
        except BudgetStoreUnavailable:
            # Fail closed: an unpriced request could exceed every budget at once.
            log.warning("query budgets unavailable; request refused", exc_info=True)
            self._set_retry_after(BUDGETS_RETRY_SECONDS)
            return _refusal(
                "Query budgets cannot be checked right now (the budget store is unreachable), "
                f"so nothing was executed. Retry in {BUDGETS_RETRY_SECONDS} s.",
                "BUDGETS_UNAVAILABLE",
                retryAfterSeconds=BUDGETS_RETRY_SECONDS,
            )

    async def _charge(
        self, budgets: CostBudgets, key: str, cost: int, settings: Settings
    ) -> GraphQLError | None:
        if cost > settings.max_query_cost:
            _, available = await budgets.take(key, 0)
            self._report = _cost_report(cost, available, budgets)
            return _refusal(
                f"This query costs {cost} points; a request may cost at most {settings.max_query_cost}. "
                "Ask for smaller pages (first/last) or fewer nested connections.",
                "QUERY_TOO_COSTLY",
                cost=cost,
                limit=settings.max_query_cost,
            )
        allowed, available = await budgets.take(key, cost)
        self._report = _cost_report(cost, available, budgets)
        if not allowed:
            retry_after = max(1, math.ceil((cost - available) / budgets.refill_per_second))
            self._set_retry_after(retry_after)
            return _refusal(
                f"This query costs {cost} points and {math.floor(available)} are available; "
                f"the budget refills at {budgets.refill_per_second:g} points a second. "
                f"Retry in {retry_after} s.",
                "BUDGET_EXHAUSTED",
                cost=cost,
                currentlyAvailable=math.floor(available),
                retryAfterSeconds=retry_after,
            )
        return None

    def _set_retry_after(self, seconds: int) -> None:
        response = getattr(self.execution_context.context, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None:
            headers["retry-after"] = str(seconds)

    def get_results(self) -> dict[str, Any]:
        return {"cost": self._report} if self._report is not None else {}


_INTROSPECTING = PerDocument(1024)


def _introspects(schema: GraphQLSchema, document: Any) -> bool:
    """Whether the document reads the schema (validated once per document, not per request)."""
    return _INTROSPECTING.get(
        document, id(schema), lambda: bool(validate(schema, document, [NoSchemaIntrospectionCustomRule]))
    )


def _cost_report(cost: int, available: float, budgets: CostBudgets) -> dict[str, Any]:
    """Shopify's shape: what was asked, and the state of the caller's bucket afterwards."""
    return {
        "requestedQueryCost": cost,
        "maximumAvailable": budgets.capacity,
        "throttleStatus": {
            "maximumAvailable": budgets.capacity,
            "currentlyAvailable": math.floor(available),
            "restoreRate": budgets.refill_per_second,
        },
    }


class ExecutionTimeout(SchemaExtension):
    """Stops execution after `execution_timeout_seconds` with a TIMEOUT error, so a request
    never hangs. A mutation stopped this way rolls back its transaction. Known gap: when the
    timeout cancels a statement mid-flight, the connection may be terminated, and the view's
    final `session.close()` must tolerate that (see GraphQLView.__call__)."""

    async def on_execute(self) -> AsyncIterator[None]:
        settings = getattr(self.execution_context.context, "settings", None)
        if settings is None:
            yield
            return
        seconds = settings.execution_timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                yield
        except TimeoutError as exc:
            raise _refusal(
                f"The request took longer than {seconds:g} s and was stopped.",
                "TIMEOUT",
                timeoutSeconds=seconds,
            ) from exc


def request_limits(stores: BudgetStores | None = None) -> Iterator[Callable[[], SchemaExtension]]:
    """The extension factories `build_schema` appends: pricing with one budget store per
    schema (the app passes its own, to close it at shutdown), and the execution timeout."""
    stores = stores if stores is not None else BudgetStores()
    yield lambda: QueryCostLimiter(stores)
    yield ExecutionTimeout
