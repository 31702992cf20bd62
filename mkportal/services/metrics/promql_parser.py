"""A recursive-descent PromQL parser producing `promql_tree` nodes (see `promql.parse`)."""

from __future__ import annotations

import re

from mkportal.services.errors import Invalid
from mkportal.services.metrics.promql_lexer import Token, fail
from mkportal.services.metrics.promql_tree import (
    AGGREGATIONS,
    COMPARISONS,
    FUNCTIONS,
    KEYWORDS,
    PARAM_AGGREGATIONS,
    PRECEDENCE,
    SET_OPS,
    Aggregation,
    Binary,
    Call,
    Literal,
    Node,
    Paren,
    Postfix,
    Selector,
    Unary,
)

MAX_DEPTH = 64
PROTECTED_LABELS = frozenset({"org", "cluster"})
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_op(self, value: str) -> bool:
        return self.tok.kind == "op" and self.tok.value == value

    def next_is(self, *values: str) -> bool:
        nxt = self.peek()
        return nxt.kind in ("op", "ident") and nxt.value.lower() in values

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.value.lower() in words

    def expect(self, value: str) -> None:
        if not self.is_op(value):
            raise self.error(f"expected {value!r}")
        self.take()

    def error(self, what: str) -> Invalid:
        found = self.tok.value or "end of query"
        return fail(
            f"Cannot parse the query at position {self.tok.pos + 1} ({what}, found {found!r})."
        )

    def parse(self) -> Node:
        node = self.expr(0)
        if self.tok.kind != "eof":
            raise self.error("unexpected token")
        return node

    def binary_op(self) -> str | None:
        tok = self.tok
        if tok.kind == "op" and tok.value in PRECEDENCE:
            return tok.value
        if tok.kind == "ident" and tok.value.lower() in ("and", "or", "unless", "atan2"):
            return tok.value.lower()
        return None

    def expr(self, min_prec: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise fail("The query is nested too deeply.")
        left = self.unary()
        while (op := self.binary_op()) is not None and PRECEDENCE[op] >= min_prec:
            self.take()
            modifiers = self.modifiers(op)
            right = self.expr(PRECEDENCE[op] + (0 if op == "^" else 1))
            left = Binary(op, left, right, modifiers)
        self.depth -= 1
        return left

    def modifiers(self, op: str) -> str:
        parts: list[str] = []
        if self.is_kw("bool"):
            if op not in COMPARISONS:
                raise self.error("bool is only allowed after a comparison")
            parts.append(self.take().value.lower())
        if self.is_kw("on", "ignoring"):
            parts.append(f"{self.take().value.lower()} ({', '.join(self.labels())})")
            if self.is_kw("group_left", "group_right"):
                if op in SET_OPS:
                    raise self.error("no grouping allowed for set operations")
                kw = self.take().value.lower()
                extra = self.labels() if self.is_op("(") else []
                parts.append(f"{kw} ({', '.join(extra)})")
        return " ".join(parts)

    def labels(self) -> list[str]:
        self.expect("(")
        names: list[str] = []
        while not self.is_op(")"):
            if self.tok.kind != "ident" or not _LABEL.match(self.tok.value):
                raise self.error("expected a label name")
            names.append(self.take().value)
            if not self.is_op(","):
                break
            self.take()
        self.expect(")")
        return names

    def unary(self) -> Node:
        if self.is_op("-") or self.is_op("+"):
            op = self.take().value
            return Unary(op, self.expr(PRECEDENCE["^"]))
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.is_op("["):
                self.take()
                rng = self.duration()
                if self.is_op(":"):
                    self.take()
                    step = self.duration() if self.tok.kind == "duration" else ""
                    suffix = f"[{rng}:{step}]"
                elif isinstance(node, Selector):
                    suffix = f"[{rng}]"
                else:
                    raise self.error("ranges only apply to selectors; use a subquery [range:step]")
                self.expect("]")
                node = Postfix(node, suffix)
            elif self.is_kw("offset"):
                self.take()
                sign = self.take().value if self.is_op("-") else ""
                node = Postfix(node, f" offset {sign}{self.duration()}")
            elif self.is_op("@"):
                self.take()
                node = Postfix(node, f" @ {self.at_time()}")
            else:
                return node

    def duration(self) -> str:
        if self.tok.kind != "duration":
            raise self.error("expected a duration such as 5m")
        return self.take().value

    def at_time(self) -> str:
        if self.is_kw("start", "end") and self.next_is("("):
            name = self.take().value.lower()
            self.expect("(")
            self.expect(")")
            return f"{name}()"
        sign = self.take().value if self.is_op("-") or self.is_op("+") else ""
        if self.tok.kind != "number":
            raise self.error("expected a unix timestamp, start() or end()")
        return sign + self.take().value

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            return Literal(self.take().value)
        if tok.kind == "string":
            return Literal(self.take().value, is_string=True)
        if self.is_op("("):
            self.take()
            inner = self.expr(0)
            self.expect(")")
            return Paren(inner)
        if self.is_op("{"):
            selector = Selector("", self.matchers())
            if not selector.matchers:
                raise self.error("a selector needs a metric name or a label matcher")
            return selector
        if tok.kind != "ident":
            raise self.error("expected an expression")
        word = tok.value.lower()
        if word in ("inf", "nan"):
            return Literal(self.take().value)
        if word in AGGREGATIONS and self.next_is("(", "by", "without"):
            return self.aggregation()
        if self.next_is("("):
            return self.call()
        if word in KEYWORDS - AGGREGATIONS - {"start", "end"}:
            raise self.error(
                f'{tok.value} is a keyword; select such a metric with {{__name__="{tok.value}"}}'
            )
        self.take()
        return Selector(tok.value, self.matchers() if self.is_op("{") else [])

    def matchers(self) -> list[tuple[str, str, str]]:
        self.expect("{")
        found: list[tuple[str, str, str]] = []
        while not self.is_op("}"):
            if self.tok.kind != "ident" or not _LABEL.match(self.tok.value):
                raise self.error("expected a label name")
            label = self.take().value
            if self.tok.kind != "op" or self.tok.value not in ("=", "!=", "=~", "!~"):
                raise self.error("expected =, !=, =~ or !~")
            op = self.take().value
            if self.tok.kind != "string":
                raise self.error("expected a quoted label value")
            found.append((label, op, self.take().value))
            if not self.is_op(","):
                break
            self.take()
        self.expect("}")
        return found

    def call(self) -> Node:
        name = self.take().value
        if name not in FUNCTIONS:
            raise fail(f"Unknown function {name}().")
        self.expect("(")
        args: list[Node] = []
        while not self.is_op(")"):
            args.append(self.expr(0))
            if not self.is_op(","):
                break
            self.take()
        self.expect(")")
        if name in ("label_replace", "label_join"):
            _check_target(args[1] if len(args) > 1 else None, name)
        return Call(name, args)

    def aggregation(self) -> Node:
        op = self.take().value.lower()
        grouping = self.grouping()
        self.expect("(")
        param = None
        if op in PARAM_AGGREGATIONS:
            param = self.expr(0)
            self.expect(",")
        expr = self.expr(0)
        self.expect(")")
        after = self.grouping()
        if grouping and after:
            raise self.error("grouping given twice")
        if op == "count_values":
            _check_target(param, op)
        return Aggregation(op, expr, param, grouping or after)

    def grouping(self) -> tuple[str, list[str]] | None:
        if self.is_kw("by", "without"):
            kw = self.take().value.lower()
            return kw, self.labels()
        return None


def _check_target(node: Node | None, func: str) -> None:
    """Reject relabelling unless the target label is a plain string other than org/cluster."""
    if not isinstance(node, Literal) or not node.is_string:
        raise fail(f"{func}() needs the target label name as a quoted string.")
    if node.text in PROTECTED_LABELS:
        raise fail(f"{func}() cannot write the {node.text} label.")


def parse_tokens(tokens: list[Token]) -> Node:
    """Parse a token list (ending with the "eof" token) into a syntax tree.

    Raises:
        Invalid: Unparseable, unknown function, or relabelling onto org/cluster.
    """
    return _Parser(tokens).parse()
