"""Operations: JSON and text logs with request ids, slow-query logs without parameters,
Prometheus metrics at /metrics, and optional OpenTelemetry tracing."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from graph import observability
from graph.app import create_app
from graph.settings import Settings
from tests.conftest import Backend

FIRST_ORDERS = "query FirstOrders { orders(first: 2) { edges { node { number } } } }"
NEEDLE = "needle-4711-private"


@dataclass
class Observed:
    app: Any
    client: httpx.AsyncClient  # without a credential: pass one per request
    stream: io.StringIO
    key: str

    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    async def gql(self, query: str, *, key: str | None = None, **payload: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {key or self.key}"}
        return await self.client.post("/graphql", json={"query": query, **payload}, headers=headers)


@asynccontextmanager
async def observed(backend: Backend, **overrides: Any) -> AsyncIterator[Observed]:
    """An app of its own on the backend's database, its log lines captured in a buffer."""
    settings = Settings(database_url=backend.url, debug=True, cost_budget=10**9, **overrides)
    app = create_app(settings)
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "partnergraph", False))
    stream = io.StringIO()
    handler.setStream(stream)
    key = await backend.key("admin")
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Observed(app, client, stream, key)
    finally:
        logging.getLogger().removeHandler(handler)
        await app.state.engine.dispose()


async def test_a_json_access_line_carries_request_id_status_duration_and_statements(backend: Backend) -> None:
    async with observed(backend, log_format="json") as obs:
        response = await obs.gql(FIRST_ORDERS)
        assert response.status_code == 200, response.text
        body = response.json()
        request_id = response.headers["x-request-id"]
        access = [r for r in obs.records() if r.get("event") == "request"]

    assert len(access) == 1, obs.lines()
    line = access[0]
    assert line["request_id"] == request_id
    assert line["level"] == "INFO" and line["logger"] == "partnergraph.access"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["sql_statements"] == body["extensions"]["sqlStatements"] > 0
    assert line["operation"] == "FirstOrders"
    assert line["outcome"] == "ok"
    assert line["principal"] == "key:test admin"
    assert line["cost"] == body["extensions"]["cost"]["requestedQueryCost"] > 0
    assert "slow" not in line


async def test_the_callers_request_id_is_kept_and_a_malformed_one_replaced(backend: Backend) -> None:
    async with observed(backend, log_format="json") as obs:
        kept = await obs.client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": f"Bearer {obs.key}", "x-request-id": "trace-abc.123"},
        )
        replaced = await obs.client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": f"Bearer {obs.key}", "x-request-id": "bad id\twith spaces"},
        )
        ids = [r["request_id"] for r in obs.records() if r.get("event") == "request"]

    assert kept.headers["x-request-id"] == "trace-abc.123"
    assert replaced.headers["x-request-id"] not in ("", "bad id\twith spaces")
    assert ids == ["trace-abc.123", replaced.headers["x-request-id"]]


async def test_text_logs_are_readable_lines_with_the_request_id(backend: Backend) -> None:
    async with observed(backend, log_format="text") as obs:
        response = await obs.gql(FIRST_ORDERS)
        lines = obs.lines()

    request_id = response.headers["x-request-id"]
    access = [line for line in lines if "partnergraph.access" in line]
    assert len(access) == 1, lines
    assert f"[{request_id}]" in access[0]
    assert "POST /graphql 200" in access[0] and "operation=FirstOrders" in access[0]
    assert not access[0].lstrip().startswith("{")


async def test_slow_queries_are_logged_with_duration_and_request_id_never_parameters(
    backend: Backend,
) -> None:
    query = "query Find($text: String) { organizations(first: 3, filter: { search: $text }) { totalCount } }"
    async with observed(backend, log_format="json", slow_query_ms=0) as obs:
        response = await obs.gql(query, variables={"text": NEEDLE})
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        output = obs.stream.getvalue()
        slow = [r for r in obs.records() if r.get("event") == "slow_query"]

    request_id = response.headers["x-request-id"]
    # The key lookup and the query's statements; every one under this request's id.
    assert len(slow) >= 2
    for line in slow:
        assert line["level"] == "WARNING" and line["logger"] == "partnergraph.slow_query"
        assert line["request_id"] == request_id
        assert line["duration_ms"] >= 0 and line["statement"]
    assert any("organizations" in line["statement"].lower() for line in slow)
    # Neither the search text nor the API key (whose hash is a lookup parameter) is logged.
    assert NEEDLE not in output
    # The secret is urlsafe base64 and may itself hold "_": split off the prefix only.
    secret = obs.key.split("_", 2)[2]
    assert obs.key not in output and secret not in output


async def test_requests_over_slow_request_ms_are_logged_as_slow(backend: Backend) -> None:
    async with observed(backend, log_format="json", slow_request_ms=0) as obs:
        await obs.gql(FIRST_ORDERS)
        (line,) = [r for r in obs.records() if r.get("event") == "request"]
    assert line["level"] == "WARNING" and line["slow"] is True


def _sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format (None: not exposed)."""
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in exposition.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_count_requests_by_operation_and_outcome_without_a_credential(backend: Backend) -> None:
    too_costly = "query TooCostly { orders(first: 100) { edges { node { lines(first: 100) { edges { node { id } } } } } } }"
    async with observed(backend) as obs:
        ok = await obs.gql(FIRST_ORDERS)
        await obs.gql(FIRST_ORDERS)
        refused = await obs.gql("query Anyone { __typename }", key="pgk_nope_nope")
        costly = await obs.gql(too_costly)
        metrics = await obs.client.get("/metrics")  # no credential

    assert ok.status_code == 200 and refused.status_code == 401
    assert costly.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert metrics.status_code == 200, metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    requests = "partnergraph_graphql_requests_total"
    assert _sample(text, requests, operation="FirstOrders", outcome="ok") == 2
    # Refused before its body was read: the operation it names is not taken at its word.
    assert _sample(text, requests, operation="unknown", outcome="refused") == 1
    assert _sample(text, requests, operation="TooCostly", outcome="refused") == 1
    assert _sample(text, "partnergraph_graphql_request_duration_seconds_count", operation="FirstOrders") == 2
    assert _sample(text, "partnergraph_graphql_query_cost_count") == 3  # priced: 2 run, 1 refused
    assert _sample(text, "partnergraph_graphql_sql_statements_count") == 4
    assert _sample(text, "partnergraph_db_pool_connections_in_use") == 0
    assert _sample(text, "partnergraph_subscriptions_connected") == 0
    assert "# TYPE partnergraph_webhook_deliveries_total counter" in text


async def test_a_field_error_counts_as_error(backend: Backend) -> None:
    async with observed(backend) as obs:
        response = await obs.gql("query TooMany { orders(first: 1000) { edges { node { number } } } }")
        metrics = (await obs.client.get("/metrics")).text
    errors = response.json()["errors"]
    outcome = "refused" if all("path" not in e for e in errors) else "error"
    assert _sample(metrics, "partnergraph_graphql_requests_total", operation="TooMany", outcome=outcome) == 1


async def test_apps_keep_their_own_metrics_and_gauges_for_later(backend: Backend) -> None:
    async with observed(backend) as first, observed(backend) as second:
        await first.gql(FIRST_ORDERS)
        observability.subscriptions_gauge(second.app).inc()
        observability.webhook_deliveries_counter(second.app).labels(outcome="delivered").inc()
        first_text = (await first.client.get("/metrics")).text
        second_text = (await second.client.get("/metrics")).text

    requests = "partnergraph_graphql_requests_total"
    assert _sample(first_text, requests, operation="FirstOrders", outcome="ok") == 1
    assert _sample(second_text, requests, operation="FirstOrders", outcome="ok") is None
    assert _sample(first_text, "partnergraph_subscriptions_connected") == 0
    assert _sample(second_text, "partnergraph_subscriptions_connected") == 1
    assert _sample(second_text, "partnergraph_webhook_deliveries_total", outcome="delivered") == 1


async def test_metrics_can_be_turned_off(backend: Backend) -> None:
    async with observed(backend, metrics_enabled=False) as obs:
        assert (await obs.client.get("/metrics")).status_code == 404
        assert (await obs.gql(FIRST_ORDERS)).status_code == 200


def test_operation_labels_are_bounded() -> None:
    metrics = observability.Metrics()
    names = [metrics.operation_label(f"Op{i}") for i in range(observability.MAX_OPERATION_LABELS + 5)]
    assert names[-1] == "other" and names[0] == "Op0"
    assert metrics.operation_label("Op0") == "Op0"  # known names keep their label
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("not a name!") == "invalid"


# --- tracing ------------------------------------------------------------------------------


def test_tracing_is_off_by_default() -> None:
    assert Settings().otel_enabled is False
    assert observability.tracing_extensions(Settings()) == []


def test_tracing_without_opentelemetry_fails_at_start_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # As if the [otel] extra were not installed, whether or not it is here.
    monkeypatch.setitem(sys.modules, "strawberry.extensions.tracing.opentelemetry", None)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", otel_enabled=True)
    with pytest.raises(observability.ObservabilityError, match=r"pip install 'partnergraph\[otel\]'"):
        create_app(settings)


async def test_tracing_records_operation_spans_without_arguments() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from graph.schema import build_schema

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    extensions = observability.tracing_extensions(Settings(otel_enabled=True), tracer_provider=provider)
    schema = build_schema(extra_extensions=extensions)

    result = await schema.execute("query Ping($id: ID!) { __typename node(id: $id) { id } }", {"id": NEEDLE})

    spans = exporter.get_finished_spans()
    assert any(span.name == "GraphQL Query: Ping" for span in spans), [s.name for s in spans]
    recorded = json.dumps([dict(span.attributes or {}) for span in spans])
    assert NEEDLE not in recorded
    assert result.data is None or "__typename" in result.data


async def test_an_app_with_tracing_on_serves_requests(backend: Backend) -> None:
    async with observed(backend, otel_enabled=True) as obs:
        response = await obs.gql(FIRST_ORDERS)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


async def test_a_slow_query_text_line_shows_the_statement(backend: Backend) -> None:
    async with observed(backend, log_format="text", slow_query_ms=0) as obs:
        response = await obs.gql(FIRST_ORDERS)
        lines = [line for line in obs.lines() if "partnergraph.slow_query" in line]
    assert any(
        f"[{response.headers['x-request-id']}] slow query: " in line and "FROM orders" in line
        for line in lines
    )
