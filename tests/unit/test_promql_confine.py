"""`promql.confine`: every selector gets the org and cluster matchers, escapes are rejected."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mkportal.services.errors import Invalid
from mkportal.services.metrics import promql
from mkportal.services.metrics.promql import confine
from tests.promql_gen import queries

ORG = "0a1b"
CLUSTERS = ["c1", "c2"]
SCOPE = 'org="0a1b",cluster=~"c1|c2"'


def c(query: str) -> str:
    return confine(query, ORG, CLUSTERS)


def selectors(node: promql.Node) -> list[promql.Selector]:
    """Every selector of a parsed tree (walks the dataclass fields)."""
    found: list[promql.Selector] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, promql.Selector):
            found.append(item)
        elif isinstance(item, promql.Node):
            stack.extend(vars(item).values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def assert_confined(out: str, org: str = ORG, clusters: str = "c1|c2") -> None:
    """Parse the output again: every selector ends with exactly our two matchers."""
    tree = promql.parse(out)
    sels = selectors(tree)
    for sel in sels:
        assert sel.matchers[-2:] == [("org", "=", org), ("cluster", "=~", clusters)], out


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("up", f"up{{{SCOPE}}}"),
        ('up{job="x"}', f'up{{job="x",{SCOPE}}}'),
        ('{job="x"}', f'{{job="x",{SCOPE}}}'),
        ('{__name__=~".+"}', f'{{__name__=~".+",{SCOPE}}}'),
        ("rate(foo[5m])", f"rate(foo{{{SCOPE}}}[5m])"),
        ("foo offset 1h", f"foo{{{SCOPE}}} offset 1h"),
        ("foo offset -5m", f"foo{{{SCOPE}}} offset -5m"),
        ("foo @ 1700000000", f"foo{{{SCOPE}}} @ 1700000000"),
        ("foo @ end() offset 5m", f"foo{{{SCOPE}}} @ end() offset 5m"),
        ("foo[1h:5m]", f"foo{{{SCOPE}}}[1h:5m]"),
        ("rate(foo[5m])[1h:]", f"rate(foo{{{SCOPE}}}[5m])[1h:]"),
        ("(a + b)[30m:1m]", f"((a{{{SCOPE}}}) + (b{{{SCOPE}}}))[30m:1m]"),
        ("sum by (le) (x)", f"sum by (le) (x{{{SCOPE}}})"),
        ("sum(x) without (instance, job,)", f"sum without (instance, job) (x{{{SCOPE}}})"),
        ("SUM BY (a) (x)", f"sum by (a) (x{{{SCOPE}}})"),
        ("topk(3, x)", f"topk (3, x{{{SCOPE}}})"),
        ("foo or vector(1)", f"(foo{{{SCOPE}}}) or (vector(1))"),
        ("foo unless on(org) bar", f"(foo{{{SCOPE}}}) unless on (org) (bar{{{SCOPE}}})"),
        (
            "a > bool ignoring(x) group_left(y) b",
            f"(a{{{SCOPE}}}) > bool ignoring (x) group_left (y) (b{{{SCOPE}}})",
        ),
        ("a * on() group_right b", f"(a{{{SCOPE}}}) * on () group_right () (b{{{SCOPE}}})"),
        ("2 ^ 3 ^ 2", "(2) ^ ((3) ^ (2))"),
        ("-a ^ 2", f"-((a{{{SCOPE}}}) ^ (2))"),
        ("a - -1", f"(a{{{SCOPE}}}) - (-(1))"),
        ("a atan2 b", f"(a{{{SCOPE}}}) atan2 (b{{{SCOPE}}})"),
        ("foo # a comment {\n + bar", f"(foo{{{SCOPE}}}) + (bar{{{SCOPE}}})"),
        ('"a string"', '"a string"'),
        ("0x1F + 1e3 + .5 + Inf + NaN", "((((0x1F) + (1e3)) + (.5)) + (Inf)) + (NaN)"),
        ("sum", f'{{__name__="sum",{SCOPE}}}'),
        ("rate", f'{{__name__="rate",{SCOPE}}}'),
        ("start + end", f'({{__name__="start",{SCOPE}}}) + ({{__name__="end",{SCOPE}}})'),
        ('sum{a="b"}', f'{{__name__="sum",a="b",{SCOPE}}}'),
        ("job:rate:sum5m", f"job:rate:sum5m{{{SCOPE}}}"),
        ("time() - timestamp(x)", f"(time()) - (timestamp(x{{{SCOPE}}}))"),
        (
            'label_replace(x, "dst", "$1", "src", "(.*)")',
            f'label_replace(x{{{SCOPE}}}, "dst", "$1", "src", "(.*)")',
        ),
        ('count_values("v", x)', f'count_values ("v", x{{{SCOPE}}})'),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_rewrites(query: str, expected: str) -> None:
    assert c(query) == expected
    assert_confined(c(query))


@pytest.mark.parametrize(
    ("query", "decoded"),
    [
        (r'x{a="q\"uote"}', 'q"uote'),
        (r"x{a='it\'s'}", "it's"),
        (r'x{a="back\\slash"}', "back\\slash"),
        ('x{a=`raw\\"}`}', 'raw\\"}'),
        (r'x{a="\x41\101\u00e9\U0001F600"}', "AAé😀"),
        ('x{a="}, org=\\"other\\", b=\\"{"}', '}, org="other", b="{'),
        ('x{a="tab\\tnl\\n"}', "tab\tnl\n"),
    ],
    ids=["dquote", "squote", "backslash", "raw", "numeric", "brace-injection", "controls"],
)
def test_strings_round_trip(query: str, decoded: str) -> None:
    out = c(query)
    tree = promql.parse(out)
    (sel,) = selectors(tree)
    assert sel.matchers[0] == ("a", "=", decoded)
    assert_confined(out)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "# only a comment",
        "x" * 2001,
        "foo(bar)",
        "RATE(x[5m])",
        "sum(",
        "x{",
        "x}",
        "{}",
        "x{a=b}",
        'x{a:b="c"}',
        'x{org="a" or 1}',
        "x[5m",
        "(x)[5m]",
        "x[5]",
        "x offset",
        "x @ now",
        "x y",
        "and",
        "x and",
        "by",
        "offset",
        'x{a="unterminated}',
        'x{a="bad \\q escape"}',
        'x{a="\\ud800"}',
        'x{a="\\400"}',
        "1 + bool 2",
        "a and bool b",
        "a or on(x) group_left b",
        "x;y",
        "x $ y",
        'label_replace(x, "org", "other", "", "")',
        'label_replace(x, "cluster", "other", "", "")',
        'label_join(x, "org", ",", "a")',
        'label_replace(x, ("org"), "o", "", "")',
        'count_values("org", x)',
        "count_values(y, x)",
        "sum by (a) (x) by (b)",
        "((((((((((((((((((((" * 4 + "x" + "))))))))))))))))))))" * 4,
        "5m",
        ":foo",
        "x\u2028",
        "+".join(["x"] * 999),
    ],
    ids=lambda q: repr(q[:30]),
)
def test_rejects(query: str) -> None:
    with pytest.raises(Invalid) as err:
        c(query)
    assert "query" in err.value.errors


def test_keyword_metric_hint() -> None:
    with pytest.raises(Invalid, match='__name__="offset"'):
        c("offset + 1")


def test_nested_braces_and_strings_cannot_close_the_selector() -> None:
    out = c('x{a="}"} + {b=~"{.*}"}')
    assert_confined(out)
    assert out.count('org="0a1b"') == 2


def test_empty_cluster_list_matches_no_cluster() -> None:
    assert confine("x", ORG, []) == 'x{org="0a1b",cluster=~""}'


@pytest.mark.parametrize("bad", ['a"b', "a|b", "", "x" * 65, "a.b"], ids=lambda b: repr(b))
def test_scope_ids_are_validated(bad: str) -> None:
    with pytest.raises(ValueError):
        confine("x", bad, CLUSTERS)
    with pytest.raises(ValueError):
        confine("x", ORG, [bad])


def test_validate_accepts_and_rejects() -> None:
    promql.validate("sum(rate(x[5m]))")
    with pytest.raises(Invalid):
        promql.validate("nope(x)")


def test_quote_escapes_everything_prometheus_decodes() -> None:
    assert promql.quote('a"b\\c\n\t\x01\x7fé') == '"a\\"b\\\\c\\n\\t\\x01\\x7fé"'


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries())
def test_property_every_selector_carries_both_matchers(query: str) -> None:
    out = c(query)
    assert_confined(out)
    # Rendering is stable: confining the output again only appends the matchers again.
    assert promql.parse(out).render(promql.Scope('z="1"')).count('z="1"') == out.count(SCOPE)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_property_arbitrary_text_is_confined_or_rejected(text: str) -> None:
    try:
        out = c(text)
    except Invalid:
        return
    assert_confined(out)
