"""What is worked out once per query text or parsed document: the parse, its validation, its
price, whether it introspects.

`Documents` parses each query text once (bounded in tokens) and hands back the same
DocumentNode for the same text, so the rest is kept per document object, in an LRU (graph/
reader.py's StatementCache). Keying them by the document itself would hash the whole syntax
tree on every request (graphql-core's nodes hash field by field, recursively: about 0.2 ms
for the README's portal query); keying by identity costs nothing. Each entry holds its
document, so an id is never reused while its entry lives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from functools import lru_cache
from typing import Any, TypeVar

from graphql import parse, validate
from strawberry.extensions import SchemaExtension

from graph.reader import StatementCache

T = TypeVar("T")


class PerDocument:
    """Values computed from a document (and a hashable `extra`), least recently used first out.
    An entry holds its document, so no other document can take its id while it lives."""

    def __init__(self, size: int) -> None:
        self._entries = StatementCache(size)

    def get(self, document: Any, extra: Hashable, compute: Callable[[], T]) -> T:
        return self._entries.get((id(document), extra), lambda: (document, compute()))[1]


_PARSED = lru_cache(maxsize=512)(parse)  # a syntax error is raised again, never kept
_VALIDATIONS = PerDocument(512)


class Documents(SchemaExtension):
    """strawberry's ParserCache, MaxTokensLimiter, AddValidationRules and ValidationCache in one
    extension (each extension costs hooks on every request): a document of at most
    `max_tokens` tokens, parsed once per text, validated once per document with `rules` added
    to the standard ones."""

    def __init__(self, rules: tuple[Any, ...], max_tokens: int) -> None:
        super().__init__()
        self.rules = rules
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, *self.rules)
        context.parse_options["max_tokens"] = self.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _PARSED(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document, rules = context.schema._schema, context.graphql_document, tuple(context.validation_rules)
        context.pre_execution_errors = _VALIDATIONS.get(
            document, (id(schema), rules), lambda: validate(schema, document, rules)
        )
        yield
