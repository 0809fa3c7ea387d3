"""Operations: structured logs, slow-query and slow-request logs, Prometheus metrics, tracing.

- **Logs** go through stdlib logging, configured once per app by `configure_logging`: JSON
  lines (`log_format="json"`, for production) or readable text (`"text"`, the default). Every
  line written while a request runs carries its request id; each HTTP request gets one access
  line (method, path, status, duration, GraphQL operation, principal, SQL statements, cost).
- **Slow queries**: statements slower than `slow_query_ms` are logged with their duration and
  request id, never their parameters (they may hold personal data). Requests slower than
  `slow_request_ms` get their access line at WARNING with `slow: true`.
- **Metrics** at `/metrics` (Prometheus text format, no credential needed, off with
  `metrics_enabled=false`), in a registry of the app's own so that apps never share counters.
- **Tracing**: OpenTelemetry spans for each operation and resolver when `otel_enabled` is set
  and the `[otel]` extra is installed (`tracing_extensions`).

The access line and the metrics come from `RequestObserver`, a pure ASGI middleware: it reads
what the view leaves on `request.state` (the statement log, the principal) and the response
body it already holds in memory (errors and `extensions.cost`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import event
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.db import current_statement_log
from graph.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.applications import Starlette

log = logging.getLogger("partnergraph.access")
slow_log = logging.getLogger("partnergraph.slow_query")

GRAPHQL_PATH = "/graphql"
METRICS_PATH = "/metrics"
# Probes and scrapes run every few seconds: an access line for each would drown the rest.
QUIET_PATHS = frozenset({"/healthz", "/readyz", METRICS_PATH})

# The request id of the request being served, for every log line written while it runs
# (the view's own statement log is swapped out while a key is looked up).
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "partnergraph_request_id", default=None
)


class ObservabilityError(RuntimeError):
    """The observability settings cannot be honoured (e.g. tracing without OpenTelemetry)."""


# --- logging ------------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from `extra=` and is data.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)


class _RequestIdFilter(logging.Filter):
    """Stamps each record with the request id it was written under (unless it names one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2025-01-01 12:00:00,000 INFO partnergraph.access [request-id] message`, then the SQL of
    a slow-query line (which JSON lines carry in a field of its own)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        line = super().format(record)
        statement = getattr(record, "statement", None)
        return f"{line}: {statement}" if statement else line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when the line is written (not when configured)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        self._stream = None if value is sys.stderr else value


def configure_logging(settings: Settings) -> logging.Handler:
    """Install our handler on the root logger (replacing the one a previous app installed) at
    `log_level`, formatting JSON lines or text per `log_format`. Returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "partnergraph", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.partnergraph = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler


# --- slow queries -------------------------------------------------------------------------

_STATEMENT_LOG_CHARS = 2000


def install_slow_query_log(engine: AsyncEngine, settings: Settings) -> None:
    """Log statements that take at least `slow_query_ms`: text and duration, no parameters."""
    threshold_ms = settings.slow_query_ms
    started_key = "_partnergraph_started"

    def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if context is not None:
            setattr(context, started_key, time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        started = getattr(context, started_key, None)
        if started is None:
            return
        duration_ms = (time.perf_counter() - started) * 1000
        if duration_ms < threshold_ms:
            return
        text = " ".join(statement.split())
        if len(text) > _STATEMENT_LOG_CHARS:
            text = text[:_STATEMENT_LOG_CHARS] + "…"
        statements = current_statement_log.get()
        request_id = current_request_id.get() or (statements.request_id if statements else None)
        slow_log.warning(
            "slow query: %.1f ms",
            duration_ms,
            extra={
                "event": "slow_query",
                "duration_ms": round(duration_ms, 1),
                "statement": text,
                "executemany": bool(executemany),
                "request_id": request_id,
            },
        )

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)


# --- metrics ------------------------------------------------------------------------------

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30)
COST_BUCKETS = (0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
STATEMENT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89)
# Operation names come from clients: past this many distinct ones, the rest count as "other",
# so a client cannot grow the metrics without bound.
MAX_OPERATION_LABELS = 200
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")


class Outcome:
    OK = "ok"
    ERROR = "error"  # executed, with errors (a refused field, an unexpected failure)
    REFUSED = "refused"  # not executed: no credential, over a limit, invalid, too large


@dataclass
class Metrics:
    """The app's Prometheus metrics, in a registry of its own."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _operations: set[str] = field(default_factory=set)
    _children: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "partnergraph_graphql_requests",
            "GraphQL requests by operation name and outcome (ok, error, refused).",
            ["operation", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "partnergraph_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cost = Histogram(
            "partnergraph_graphql_query_cost",
            "Cost points of priced GraphQL requests (see extensions.cost).",
            buckets=COST_BUCKETS,
            registry=r,
        )
        self.statements = Histogram(
            "partnergraph_graphql_sql_statements",
            "SQL statements one GraphQL request sent to the database.",
            buckets=STATEMENT_BUCKETS,
            registry=r,
        )
        self.pool_checked_out = Gauge(
            "partnergraph_db_pool_connections_in_use",
            "Database connections checked out of the pool.",
            registry=r,
        )
        self.subscriptions = Gauge(
            "partnergraph_subscriptions_connected", "GraphQL subscriptions currently connected.", registry=r
        )
        self.webhook_deliveries = Counter(
            "partnergraph_webhook_deliveries",
            "Webhook deliveries attempted, by outcome.",
            ["outcome"],
            registry=r,
        )

    def request_counter(self, operation: str, outcome: str | None) -> Any:
        """The labelled counter child, kept: `labels()` takes a lock and builds a key each call.
        Operation labels are bounded (`operation_label`), so this dict is too."""
        child = self._children.get((operation, outcome))
        if child is None:
            child = self._children[operation, outcome] = self.requests.labels(operation=operation, outcome=outcome)
        return child

    def latency_histogram(self, operation: str) -> Any:
        child = self._children.get(operation)
        if child is None:
            child = self._children[operation] = self.latency.labels(operation=operation)
        return child

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Report the engine's pool usage at each scrape (when the pool can tell)."""
        pool = engine.pool
        checkedout = getattr(pool, "checkedout", None)
        if callable(checkedout):
            self.pool_checked_out.set_function(lambda: float(checkedout()))

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _OPERATION_NAME.fullmatch(name):
            return "invalid"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return "other"
            self._operations.add(name)
        return name

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def subscriptions_gauge(app: Starlette) -> Gauge:
    """The gauge of connected subscriptions: `inc()` on connect, `dec()` on disconnect."""
    return app.state.metrics.subscriptions


def webhook_deliveries_counter(app: Starlette) -> Counter:
    """Webhook deliveries: `.labels(outcome="delivered" | "failed").inc()`."""
    return app.state.metrics.webhook_deliveries


def metrics_endpoint(metrics: Metrics):  # noqa: ANN201
    async def serve_metrics(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


# --- the access line ----------------------------------------------------------------------

# Bodies are inspected (for the operation name, errors and cost) only up to this size.
_INSPECT_LIMIT = 4 * 1024 * 1024
_REQUEST_ID = re.compile(r"[0-9A-Za-z._:-]{1,128}")
_OPERATION_IN_DOCUMENT = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


@dataclass
class _Exchange:
    """What one request and its response showed the middleware."""

    request_body: bytearray = field(default_factory=bytearray)
    response_body: bytearray = field(default_factory=bytearray)
    status: int = 0
    content_type: str = ""


class RequestObserver:
    """Pure ASGI middleware: assigns the request id, writes the access line and the metrics."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})  # shared with the view's request.state
        scope, request_id = _with_request_id(scope)
        token = current_request_id.set(request_id)
        exchange = _Exchange()

        async def watching_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(exchange.request_body) < _INSPECT_LIMIT:
                exchange.request_body += message.get("body", b"")
            return message

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                exchange.content_type = headers.get(b"content-type", b"").decode("latin-1")
            elif (
                message["type"] == "http.response.body"
                and len(exchange.response_body) <= _INSPECT_LIMIT
                and "graphql_payload" not in scope["state"]  # the view handed over the result itself
            ):
                exchange.response_body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, watching_receive, watching_send)
        except Exception:
            exchange.status = exchange.status or 500
            raise
        finally:
            try:
                self._observe(scope, exchange, request_id, time.perf_counter() - started)
            finally:
                current_request_id.reset(token)

    def _observe(self, scope: Scope, exchange: _Exchange, request_id: str, seconds: float) -> None:
        path = scope.get("path", "")
        state = scope.get("state", {})
        statements = state.get("statements")
        principal = state.get("principal")
        is_graphql = path == GRAPHQL_PATH
        # The view leaves the response payload and the operation sent in the state: reading
        # them there spares a second JSON parse of both bodies on every request.
        payload = state.get("graphql_payload")
        body = payload if isinstance(payload, dict) else (_response_json(exchange) if is_graphql else None)
        operation = _operation_name(scope, exchange, state.get("operation_sent", False)) if is_graphql else None
        cost = _requested_cost(body)
        outcome = _outcome(exchange.status, body, state.get("request_error", False)) if is_graphql else None

        if is_graphql:
            # A request refused before its body was read (no credential, too large) names no
            # operation we could trust: "unknown", unlike "anonymous" (a document without a name).
            read = scope.get("method") == "GET" or bool(exchange.request_body)
            label = self.metrics.operation_label(operation) if read else "unknown"
            self.metrics.request_counter(label, outcome).inc()
            self.metrics.latency_histogram(label).observe(seconds)
            if cost is not None:
                self.metrics.cost.observe(cost)
            if statements is not None:
                self.metrics.statements.observe(statements.count)

        if path in QUIET_PATHS:
            return
        duration_ms = round(seconds * 1000, 1)
        slow = duration_ms >= self.settings.slow_request_ms
        facts: dict[str, Any] = {
            "event": "request",
            "request_id": request_id,
            "method": scope.get("method"),
            "path": path,
            "status": exchange.status,
            "duration_ms": duration_ms,
        }
        if is_graphql:
            facts.update(
                operation=operation,
                outcome=outcome,
                principal=getattr(principal, "name", None),
                sql_statements=statements.count if statements is not None else None,
                cost=cost,
            )
        if slow:
            facts["slow"] = True
        level = logging.WARNING if slow else logging.INFO
        if not log.isEnabledFor(level):
            return
        summary = " ".join(
            f"{key}={_readable(value)}"
            for key, value in facts.items()
            if key not in ("event", "request_id", "method", "path", "status", "duration_ms")
            and value is not None
        )
        log.log(
            level,
            "%s %s %s %.1fms%s%s",
            facts["method"],
            path,
            exchange.status,
            duration_ms,
            " " if summary else "",
            summary,
            extra=facts,
        )


def _readable(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


def _with_request_id(scope: Scope) -> tuple[Scope, str]:
    """The caller's x-request-id if it is a sensible one, else a new one, put in the headers
    so that the view (which answers with it) and the logs agree."""
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"x-request-id"]
    given = next((v for k, v in scope.get("headers", []) if k.lower() == b"x-request-id"), b"")
    request_id = given.decode("latin-1")
    if not _REQUEST_ID.fullmatch(request_id):
        request_id = uuid.uuid4().hex
    scope = dict(scope)  # the state dict stays shared
    scope["headers"] = [*headers, (b"x-request-id", request_id.encode("latin-1"))]
    return scope, request_id


def _response_json(exchange: _Exchange) -> dict[str, Any] | None:
    if "json" not in exchange.content_type or len(exchange.response_body) > _INSPECT_LIMIT:
        return None
    try:
        body = json.loads(exchange.response_body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _operation_name(scope: Scope, exchange: _Exchange, sent: Any = False) -> str | None:
    """The operation the client named (operationName), else the first named one in the
    document (an approximation: the document is not parsed here), else None.

    `sent` is (operationName, query) as the view read them (None: a batch), False when the
    view did not get that far and the request body is read here."""
    payload: dict[str, Any] = {}
    if sent is None:
        return None
    if sent is not False:
        payload = {"operationName": sent[0], "query": sent[1]}
    elif scope.get("method") == "GET":
        from urllib.parse import parse_qs

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        payload = {key: values[0] for key, values in query.items()}
    elif exchange.request_body and len(exchange.request_body) < _INSPECT_LIMIT:
        try:
            parsed = json.loads(exchange.request_body)
        except ValueError:
            parsed = None
        payload = parsed if isinstance(parsed, dict) else {}
    name = payload.get("operationName")
    if isinstance(name, str) and name:
        return name
    document = payload.get("query")
    if isinstance(document, str):
        found = _OPERATION_IN_DOCUMENT.search(document)
        if found:
            return found.group(1)
    return None


def _requested_cost(body: dict[str, Any] | None) -> int | None:
    cost = ((body or {}).get("extensions") or {}).get("cost")
    value = cost.get("requestedQueryCost") if isinstance(cost, dict) else None
    return value if isinstance(value, int | float) else None


def _outcome(status: int, body: dict[str, Any] | None, request_error: bool) -> str:
    if status >= 500:
        return Outcome.ERROR
    if status >= 400:
        return Outcome.REFUSED
    errors = (body or {}).get("errors")
    if not errors:
        return Outcome.OK
    before_execution = (body or {}).get("data") is None and all(
        isinstance(e, dict) and not e.get("path") for e in errors
    )
    if request_error or before_execution:
        return Outcome.REFUSED
    return Outcome.ERROR


# --- tracing ------------------------------------------------------------------------------


def _no_arguments(kwargs: dict[str, Any], info: Any) -> dict[str, Any]:
    # Resolver arguments may hold personal data (names, emails): spans never record them.
    return {}


def tracing_extensions(settings: Settings, tracer_provider: Any = None) -> list[Any]:
    """strawberry extensions for OpenTelemetry tracing: none unless `otel_enabled`; raises
    ObservabilityError when it is enabled but OpenTelemetry is not installed."""
    if not settings.otel_enabled:
        return []
    try:
        from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension
    except ImportError as exc:
        raise ObservabilityError(
            "PARTNERGRAPH_OTEL_ENABLED is on but OpenTelemetry is not installed: "
            "pip install 'partnergraph[otel]' (and configure an exporter, e.g. with "
            "opentelemetry-instrument), or turn tracing off."
        ) from exc

    def extension() -> OpenTelemetryExtension:
        return OpenTelemetryExtension(arg_filter=_no_arguments, tracer_provider=tracer_provider)

    return [extension]


# --- wiring -------------------------------------------------------------------------------


def install(app: Starlette, settings: Settings) -> None:
    """Everything above, for one app: logging, the slow-query listener, the access-line and
    metrics middleware, and /metrics. Call once in create_app."""
    configure_logging(settings)
    engine = app.state.engine
    install_slow_query_log(engine, settings)
    # Always kept (other parts of the app count into it); only served when enabled.
    metrics = Metrics()
    metrics.watch_pool(engine)
    if settings.metrics_enabled:
        app.add_route(METRICS_PATH, metrics_endpoint(metrics), methods=["GET"], include_in_schema=False)
    app.state.metrics = metrics
    # Outermost, so it sees (and times) the guards' refusals too.
    app.add_middleware(RequestObserver, settings=settings, metrics=metrics)
