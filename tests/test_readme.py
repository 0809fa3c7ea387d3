"""The README's example queries run as written against the demo data and return data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Backend

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
EXAMPLES = [block for block in re.findall(r"```graphql\n(.*?)```", README, re.S) if block.lstrip().startswith("query")]


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
async def test_readme_query_returns_data(backend: Backend, example: str) -> None:
    data = await backend.gql(example)
    assert data and all(value for value in data.values()), data


async def test_readme_complaint_mutation_works(backend: Backend) -> None:
    block = next(b for b in re.findall(r"```graphql\n(.*?)```", README, re.S) if "createComplaint" in b)
    order = (await backend.gql("{ orders(first: 1) { edges { node { id customer { id } } } } }"))["orders"]["edges"][0]["node"]
    data = await backend.gql(block, {"customer": order["customer"]["id"], "order": order["id"]})
    assert data["createComplaint"]["errors"] == []
    assert data["createComplaint"]["record"]["status"] == "OPEN"
