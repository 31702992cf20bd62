"""Confining user PromQL to one organisation (and some of its clusters).

`confine` tokenizes and parses a query into a small syntax tree (numbers, strings,
selectors, functions, aggregations, binary operations, subqueries, `offset`, `@`) and
prints it again, adding `org="<org>"` and `cluster=~"<id>|..."` to every selector. The
printed query is rebuilt from the tree, never copied from the input, so comments,
escapes and odd spacing cannot smuggle anything past the rewriter: every operand is
parenthesised, strings are re-quoted and metric names that are keywords or function
names are written as `{__name__="..."}`. What the parser does not understand is
rejected, and so are unknown functions and relabelling onto `org` or `cluster`.
"""

from __future__ import annotations

import re

from mkportal.services.metrics.promql_lexer import fail, quote, tokenize
from mkportal.services.metrics.promql_parser import PROTECTED_LABELS, parse_tokens
from mkportal.services.metrics.promql_tree import Node, Scope, Selector

__all__ = [
    "MAX_LENGTH",
    "PROTECTED_LABELS",
    "Node",
    "Scope",
    "Selector",
    "confine",
    "parse",
    "quote",
    "scope_matchers",
    "validate",
]

MAX_LENGTH = 2000
MAX_HEIGHT = 200
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def scope_matchers(org_id: str, cluster_ids: list[str]) -> str:
    """Return the matchers confining a selector to `org_id` and `cluster_ids`.

    Raises:
        ValueError: An id is not a plain identifier (a programming error, not user input).
    """
    for value in [org_id, *cluster_ids]:
        if not _ID.match(value):
            raise ValueError(f"not an id: {value!r}")
    return f"org={quote(org_id)},cluster=~{quote('|'.join(cluster_ids))}"


def parse(query: str) -> Node:
    """Parse a query (see `confine` for what is accepted).

    Raises:
        Invalid: Empty, too long, unparseable or not confinable (field "query").
    """
    if not query or not query.strip():
        raise fail("Enter a query.")
    if len(query) > MAX_LENGTH:
        raise fail(f"The query is longer than {MAX_LENGTH} characters.")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise fail("The query is not valid text.") from None
    tree = parse_tokens(tokenize(query))
    if _height(tree) > MAX_HEIGHT:
        raise fail("The query has too many nested operations.")
    return tree


def _height(root: Node) -> int:
    """Return the height of the tree (iteratively: chains of operators can be long)."""
    best = 0
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Node):
            best = max(best, level)
            stack.extend((child, level + 1) for child in vars(item).values())
        elif isinstance(item, list):
            stack.extend((child, level) for child in item)
    return best


def confine(query: str, org_id: str, cluster_ids: list[str]) -> str:
    """Rewrite a PromQL query so that it only reads one organisation's series.

    Every selector (bare metric names, `name{...}`, `{...}`, inside functions,
    aggregations, binary operations, subqueries, with offsets and `@`) gets
    `org="<org_id>"` and `cluster=~"<id1>|<id2>"`. An empty `cluster_ids` matches no
    series, since every series the portal stores carries a cluster label.

    Args:
        query: The user's PromQL (at most 2,000 characters).
        org_id: The organisation whose series may be read.
        cluster_ids: The clusters of that organisation the query may read.

    Returns:
        The confined query, rebuilt from its syntax tree.

    Raises:
        Invalid: The query is empty, too long, cannot be parsed, uses an unknown
            function, or relabels onto `org`/`cluster` (field "query").
    """
    scope = Scope(scope_matchers(org_id, cluster_ids))
    return parse(query).render(scope)


def validate(query: str) -> None:
    """Check that a query can be confined (for forms), without rewriting it.

    Raises:
        Invalid: As `confine` (field "query").
    """
    parse(query)
