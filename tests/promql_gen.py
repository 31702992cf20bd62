"""A hypothesis strategy generating PromQL queries that try to read other organisations.

The queries use the metric names and labels of `tests/fakes/prometheus_backfill.py`, mix
in the usual escape attempts (matchers on org/cluster, `__name__` regexes, `or` with
unlabelled vectors, keyword metric names, odd quoting) and cover selectors, functions,
aggregations, binary operators with modifiers, subqueries, offsets and `@`.
"""

from __future__ import annotations

from hypothesis import strategies as st

METRICS = ["m_gauge", "m_total", "m_other", "m_missing"]
LABELS = ["org", "cluster", "job", "__name__", "kind"]
ORG_A, ORG_B = "aaaa", "bbbb"
VALUES = [ORG_A, ORG_B, "ca1", "cb1", ".+", ".*", "", "m_.*", 'x"y', "}", "{"]


def _string(value: str) -> st.SearchStrategy[str]:
    dq = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    sq = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    options = [st.just(dq), st.just(sq)]
    if "`" not in value:
        options.append(st.just("`" + value + "`"))
    return st.one_of(options)


@st.composite
def _matcher(draw: st.DrawFn) -> str:
    label = draw(st.sampled_from(LABELS))
    op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
    return f"{label}{op}{draw(_string(draw(st.sampled_from(VALUES))))}"


@st.composite
def _selector(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from([*METRICS, "", "sum", "rate", "start"]))
    matchers = draw(st.lists(_matcher(), max_size=3))
    if not name and not matchers:
        matchers = ['__name__=~".+"']
    body = "{" + ", ".join(matchers) + "}" if matchers or draw(st.booleans()) else ""
    return name + body if name != "sum" or body else "sum"


_DURATION = st.sampled_from(["1m", "5m", "10m", "1h"])
_MODS = st.sampled_from(["", " offset 5m", " offset -1m", " @ end()", " @ start()"])


@st.composite
def _range(draw: st.DrawFn) -> str:
    return f"{draw(_selector())}[{draw(_DURATION)}]{draw(_MODS)}"


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    func = st.sampled_from(["abs", "ceil", "sort", "timestamp", "-", "+"])
    over = st.sampled_from(["rate", "increase", "max_over_time", "count_over_time", "changes"])
    agg = st.sampled_from(["sum", "avg", "max", "count", "group"])
    grouping = st.sampled_from(["", " by (org)", " by (cluster, kind)", " without (org)"])
    binop = st.sampled_from(["+", "-", "*", "/", ">", "<=", "and", "or", "unless"])
    vm = st.sampled_from(["", " on (org)", " ignoring (cluster)", " on ()", " ignoring (kind)"])
    return st.one_of(
        st.builds(lambda f, e: f"{f}({e})", func, inner),
        st.builds(lambda f, r: f"{f}({r})", over, _range()),
        st.builds(lambda a, g, e: f"{a}{g} ({e})", agg, grouping, inner),
        st.builds(lambda k, e: f"topk({k}, {e})", st.integers(1, 3), inner),
        st.builds(lambda a, o, m, b: f"({a}) {o}{m} ({b})", inner, binop, vm, inner),
        st.builds(lambda e, d: f"({e})[{d}:1m]", inner, _DURATION),
        st.builds(lambda e: f"max_over_time(({e})[10m:1m])", inner),
        st.builds(lambda e: f'label_replace({e}, "kind", "$1", "org", "(.*)")', inner),
        st.builds(lambda e: f'count_values("kind", {e})', inner),
        st.builds(lambda e: f"{e} or vector(1)", inner),
        st.builds(lambda e: f"absent({e})", inner),
    )


def queries() -> st.SearchStrategy[str]:
    """Return a strategy of (mostly valid) PromQL queries over the test series."""
    leaf = st.one_of(
        _selector(),
        st.builds(lambda s, m: s + m, _selector(), _MODS),
        st.sampled_from(["vector(1)", "1", "time()", "scalar(m_gauge)"]),
    )
    return st.recursive(leaf, _extend, max_leaves=6)
