"""The PromQL vocabulary and the syntax tree `promql` prints back with confining matchers.

Each node renders itself; a `Selector` appends the scope's matchers, and every operand
is parenthesised so Prometheus reads the printed query with the tree's structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mkportal.services.metrics.promql_lexer import quote

FUNCTIONS = frozenset(
    """abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
    clamp clamp_max clamp_min cos cosh count_over_time days_in_month day_of_month day_of_week
    day_of_year deg delta deriv exp floor histogram_count histogram_fraction histogram_quantile
    histogram_sum holt_winters hour idelta increase irate label_join label_replace
    last_over_time ln log10 log2 max_over_time min_over_time minute month pi predict_linear
    present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort
    sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp
    vector year""".split()
)
AGGREGATIONS = frozenset(
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile".split()
)
PARAM_AGGREGATIONS = frozenset({"count_values", "bottomk", "topk", "quantile"})
# Binary operators by precedence (higher binds tighter); "^" is right-associative.
PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    "==": 3,
    "!=": 3,
    "<=": 3,
    "<": 3,
    ">=": 3,
    ">": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
SET_OPS = frozenset({"and", "or", "unless"})
KEYWORDS = (
    frozenset(
        "and or unless atan2 by without on ignoring group_left group_right bool offset "
        "start end inf nan".split()
    )
    | AGGREGATIONS
)


@dataclass(frozen=True)
class Scope:
    """The matchers every selector gets (see `promql.scope_matchers`)."""

    matchers: str


class Node:
    """A node of the parsed query."""

    def render(self, scope: Scope) -> str:  # pragma: no cover - overridden
        """Return the node as confined PromQL."""
        raise NotImplementedError


@dataclass
class Literal(Node):
    """A number (kept as written, already validated) or a string (re-quoted)."""

    text: str
    is_string: bool = False

    def render(self, scope: Scope) -> str:
        """Return the literal."""
        return quote(self.text) if self.is_string else self.text


@dataclass
class Selector(Node):
    """An instant vector selector: optional metric name and label matchers."""

    name: str
    matchers: list[tuple[str, str, str]] = field(default_factory=list)

    def render(self, scope: Scope) -> str:
        """Return the selector with the user's matchers followed by the confining ones."""
        own = [f"{label}{op}{quote(value)}" for label, op, value in self.matchers]
        prefix = self.name
        if self.name and self.name.lower() in KEYWORDS | FUNCTIONS:
            own.insert(0, f"__name__={quote(self.name)}")
            prefix = ""
        own.append(scope.matchers)
        return prefix + "{" + ",".join(own) + "}"


@dataclass
class Call(Node):
    """A function call."""

    name: str
    args: list[Node]

    def render(self, scope: Scope) -> str:
        """Return the call with confined arguments."""
        return f"{self.name}(" + ", ".join(a.render(scope) for a in self.args) + ")"


@dataclass
class Aggregation(Node):
    """An aggregation with optional grouping and parameter."""

    op: str
    expr: Node
    param: Node | None = None
    grouping: tuple[str, list[str]] | None = None

    def render(self, scope: Scope) -> str:
        """Return the aggregation, grouping first."""
        group = f" {self.grouping[0]} ({', '.join(self.grouping[1])})" if self.grouping else ""
        args = [self.param.render(scope)] if self.param is not None else []
        args.append(self.expr.render(scope))
        return f"{self.op}{group} (" + ", ".join(args) + ")"


@dataclass
class Binary(Node):
    """A binary operation with its modifiers (bool, on/ignoring, group_left/right)."""

    op: str
    left: Node
    right: Node
    modifiers: str = ""

    def render(self, scope: Scope) -> str:
        """Return the operation with both operands parenthesised."""
        mods = f" {self.modifiers}" if self.modifiers else ""
        return f"({self.left.render(scope)}) {self.op}{mods} ({self.right.render(scope)})"


@dataclass
class Unary(Node):
    """Unary plus or minus."""

    op: str
    expr: Node

    def render(self, scope: Scope) -> str:
        """Return the operation with its operand parenthesised."""
        return f"{self.op}({self.expr.render(scope)})"


@dataclass
class Paren(Node):
    """A parenthesised expression."""

    expr: Node

    def render(self, scope: Scope) -> str:
        """Return the expression in parentheses."""
        return f"({self.expr.render(scope)})"


@dataclass
class Postfix(Node):
    """A range `[d]`, subquery `[d:s]`, `offset d` or `@ t` applied to an expression."""

    expr: Node
    suffix: str

    def render(self, scope: Scope) -> str:
        """Return the expression (parenthesised unless simple) with its suffix."""
        inner = self.expr.render(scope)
        if not isinstance(self.expr, Selector | Postfix | Call | Paren):
            inner = f"({inner})"
        return f"{inner}{self.suffix}"
