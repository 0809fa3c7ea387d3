"""CSV downloads of the reports (graph/crm/csv_export.py): the exact text on the hand-computed
fixture of tests/test_reports.py, RFC 4180 quoting, headers, authentication and scoping."""

from __future__ import annotations

import asyncio

import pytest

from tests.test_reports import SUP_TWO, insert_fixture

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def reports(blank_backend):  # noqa: ANN001, ANN201
    await insert_fixture(blank_backend)
    return blank_backend


def crlf(*lines: str) -> str:
    return "".join(f"{line}\r\n" for line in lines)


async def download(backend, name: str, params: dict | None = None, key: str | None = None):  # noqa: ANN001, ANN201
    headers = {"authorization": f"Bearer {key}"} if key else None
    return await backend.client.get(f"/reports/{name}.csv", params=params, headers=headers)


async def test_sales_dynamics_csv(reports) -> None:  # noqa: ANN001
    response = await download(reports, "sales-dynamics", {"groupBy": "tier"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="sales-dynamics.csv"'
    assert response.text == crlf(
        "scope,period,key,label,currency,revenue,cost,margin,margin_percent,order_count,lines_without_cost",
        "group,,key,key,CNY,168.5000,93.0000,75.5000,44.81,2,0",
        "group,,general,general,CNY,30.5000,18.9167,11.5833,37.98,1,0",
        "group,,key,key,USD,14.0000,0.0000,14.0000,100.00,1,1",
        "total,,,,CNY,199.0000,111.9167,87.0833,43.76,3,0",
        "total,,,,USD,14.0000,0.0000,14.0000,100.00,1,1",
    )
    by_month = await download(reports, "sales-dynamics", {"period": "MONTH", "from": "2026-01-01", "to": "2026-02-28", "first": "1"})
    assert by_month.text == crlf(
        "scope,period,key,label,currency,revenue,cost,margin,margin_percent,order_count,lines_without_cost",
        "group,2026-01-01,,,CNY,168.5000,93.0000,75.5000,44.81,2,0",
        "total,,,,CNY,199.0000,111.9167,87.0833,43.76,3,0",
    )


async def test_customer_financials_csv_quotes_commas_and_quotes(reports) -> None:  # noqa: ANN001
    response = await download(reports, "customer-financials")
    assert response.text == crlf(
        "scope,customer_id,customer_name,tier,currency,revenue,cost,margin,margin_percent,order_count,"
        "average_order_value,first_order_at,last_order_at,outstanding,lines_without_cost,customer_count",
        "group,T3JnYW5pemF0aW9uOjE=,Alpha Tools,key,CNY,168.5000,93.0000,75.5000,44.81,2,84.2500,"
        "2026-01-05T10:00:00+00:00,2026-01-25T23:30:00+00:00,28.5000,0,1",
        'group,T3JnYW5pemF0aW9uOjI=,"Beta ""Quoted"", Works",general,CNY,30.5000,18.9167,11.5833,37.98,1,30.5000,'
        "2026-02-10T09:00:00+00:00,2026-02-10T09:00:00+00:00,30.5000,0,1",
        "group,T3JnYW5pemF0aW9uOjE=,Alpha Tools,key,USD,14.0000,0.0000,14.0000,100.00,1,14.0000,"
        "2026-04-02T08:00:00+00:00,2026-04-02T08:00:00+00:00,14.0000,1,1",
        "total,,,,CNY,199.0000,111.9167,87.0833,43.76,3,66.3333,"
        "2026-01-05T10:00:00+00:00,2026-02-10T09:00:00+00:00,59.0000,0,2",
        "total,,,,USD,14.0000,0.0000,14.0000,100.00,1,14.0000,"
        "2026-04-02T08:00:00+00:00,2026-04-02T08:00:00+00:00,14.0000,1,1",
    )


async def test_credit_analysis_csv(reports) -> None:  # noqa: ANN001
    response = await download(reports, "credit-analysis", {"asOf": "2026-03-01", "paymentTermDays": "30"})
    assert response.text == crlf(
        "scope,customer_id,customer_name,tier,credit_standing,currency,credit_limit,exposure,utilisation_percent,"
        "available_credit,open_order_count,overdue_amount,overdue_order_count,customer_count",
        'group,T3JnYW5pemF0aW9uOjI=,"Beta ""Quoted"", Works",general,watch,CNY,1000.0000,30.5000,3.05,969.5000,1,'
        "0.0000,0,",
        "group,T3JnYW5pemF0aW9uOjE=,Alpha Tools,key,good,CNY,10000.0000,28.5000,0.29,9971.5000,1,28.5000,1,",
        "group,T3JnYW5pemF0aW9uOjM=,Gamma Labs,potential,,CNY,500.0000,0.0000,0.00,500.0000,0,0.0000,0,",
        "group,T3JnYW5pemF0aW9uOjE=,Alpha Tools,key,good,USD,,14.0000,,,1,0.0000,0,",
        "total,,,,,CNY,,59.0000,,,2,28.5000,1,2",
        "total,,,,,USD,,14.0000,,,1,0.0000,0,1",
    )


async def test_complaint_analysis_csv_for_a_supplier(reports) -> None:  # noqa: ANN001
    key = await reports.key("supplier", organization_id=SUP_TWO)
    response = await download(reports, "complaint-analysis", {"groupBy": "KIND"}, key=key)
    assert response.status_code == 200, response.text
    assert response.text == crlf(
        "scope,period,key,label,count,open_count,resolved_count,avg_hours_to_resolve,max_hours_to_resolve",
        "group,,quality_objection,quality_objection,2,1,1,60.00,60.00",
        "total,,,,2,1,1,60.00,60.00",
    )
    admin = await download(reports, "complaint-analysis", {"groupBy": "supplier", "kinds": "complaint,quality_objection"})
    assert admin.text.splitlines()[1:] == [
        "group,,,,3,0,2,21.25,36.00",
        "group,,T3JnYW5pemF0aW9uOjU=,Sup Two,2,1,1,60.00,60.00",
        "group,,T3JnYW5pemF0aW9uOjQ=,Sup One,1,0,1,25.00,25.00",
        "total,,,,6,1,4,31.88,60.00",
    ]


async def test_csv_refusals(reports) -> None:  # noqa: ANN001
    supplier = await reports.key("supplier", organization_id=SUP_TWO)
    forbidden = await download(reports, "sales-dynamics", key=supplier)
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_customer = await download(reports, "complaint-analysis", {"groupBy": "CUSTOMER"}, key=supplier)
    assert by_customer.status_code == 403
    unauthenticated = await download(reports, "sales-dynamics", key="pg_not_a_key")
    assert unauthenticated.status_code == 401
    assert (await download(reports, "no-such-report")).status_code == 404
    for params in ({"period": "FORTNIGHT"}, {"from": "yesterday"}, {"first": "5000"}, {"groupby": "TIER"}):
        bad = await download(reports, "sales-dynamics", params)
        assert bad.status_code == 400, params
        assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_cli_prints_the_same_csv(reports, capsys) -> None:  # noqa: ANN001
    from graph.cli import main

    argv = ["report", "sales-dynamics", "--database-url", reports.url, "--arg", "groupBy=TIER"]
    assert await asyncio.to_thread(main, argv) == 0
    downloaded = await download(reports, "sales-dynamics", {"groupBy": "TIER"})
    assert capsys.readouterr().out == downloaded.text
