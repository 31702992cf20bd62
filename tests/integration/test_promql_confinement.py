"""Confinement proven against a real Prometheus holding two organisations' series.

Two Prometheus servers run on backfilled TSDBs: one with every series (org A, org B, series
without an org, org A series of a cluster outside the scope, org B series reusing org A's
cluster id), one with only org A's in-scope series. A confined query must answer exactly
the same on both: if it read anything outside the scope, the answers would differ. The
queries are the escape attempts below plus hypothesis-generated ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from mkportal.services.errors import Invalid
from mkportal.services.metrics.promql import confine
from tests.fakes.prometheus_backfill import SeriesSpec, backfilled_prometheus
from tests.promql_gen import ORG_A, ORG_B, queries

pytestmark = pytest.mark.slow

SCOPE = ["ca1", "ca2"]
SERIES: list[SeriesSpec] = [
    ("m_gauge", {"org": ORG_A, "cluster": "ca1", "kind": "x"}, lambda i: 1 + i % 3),
    ("m_gauge", {"org": ORG_A, "cluster": "ca2", "kind": "y"}, lambda i: 2),
    ("m_gauge", {"org": ORG_B, "cluster": "cb1", "kind": "x"}, lambda i: 1000),
    ("m_gauge", {"org": ORG_B, "cluster": "ca1", "kind": "x"}, lambda i: 3000),
    ("m_gauge", {"org": ORG_A, "cluster": "cz9", "kind": "x"}, lambda i: 7),
    ("m_gauge", {"cluster": "ca1", "kind": "x"}, lambda i: 50000),
    ("m_total", {"org": ORG_A, "cluster": "ca1"}, lambda i: 10 * i),
    ("m_total", {"org": ORG_B, "cluster": "cb1"}, lambda i: 100 * i),
    ("m_total", {"kind": "x"}, lambda i: 5 * i),
    ("m_other", {"org": ORG_B, "cluster": "cb1"}, lambda i: 1),
    ("sum", {"org": ORG_A, "cluster": "ca1"}, lambda i: 4),
    ("sum", {"org": ORG_B, "cluster": "cb1"}, lambda i: 400),
    ("rate", {"org": ORG_B, "cluster": "cb1"}, lambda i: 9),
    ("start", {"org": ORG_A, "cluster": "ca2"}, lambda i: 1),
]
IN_SCOPE = [s for s in SERIES if s[1].get("org") == ORG_A and s[1].get("cluster") in SCOPE]
START = int(time.time()) // 3600 * 3600 - 3 * 3600
AT = START + 45 * 60


@pytest.fixture(scope="module")
def proms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    base = Path(tmp_path_factory.mktemp("promql"))
    with (
        backfilled_prometheus(base / "all", SERIES, START) as everything,
        backfilled_prometheus(base / "own", IN_SCOPE, START) as own,
    ):
        yield everything, own


def ask(url: str, query: str) -> dict:
    r = requests.post(f"{url}/api/v1/query", data={"query": query, "time": AT}, timeout=10)
    return r.json()


def normalised(answer: dict) -> object:
    if answer["status"] != "success":
        return ("error", answer.get("errorType"))
    data = answer["data"]
    result = data["result"]
    if data["resultType"] in ("scalar", "string"):
        return (data["resultType"], _num(result[1]))
    rows = []
    for r in result:
        values = r.get("values") or [r["value"]]
        rows.append((sorted(r["metric"].items()), [(t, _num(v)) for t, v in values]))
    return (data["resultType"], sorted(rows, key=repr))


def _num(v: str) -> str:
    try:
        f = float(v)
    except ValueError:
        return v
    return "NaN" if math.isnan(f) else repr(round(f, 9))


def assert_scoped(answer: dict) -> None:
    if answer["status"] != "success" or answer["data"]["resultType"] not in ("vector", "matrix"):
        return
    for r in answer["data"]["result"]:
        assert r["metric"].get("org", ORG_A) == ORG_A, r
        assert r["metric"].get("cluster", "ca1") in SCOPE, r


def test_data_is_there_and_leaks_unconfined(proms: tuple[str, str]) -> None:
    everything, own = proms
    raw = ask(everything, "sum(m_gauge)")["data"]["result"]
    assert float(raw[0]["value"][1]) > 50000
    confined = ask(everything, confine("sum(m_gauge)", ORG_A, SCOPE))["data"]["result"]
    assert float(confined[0]["value"][1]) == float(
        ask(own, "sum(m_gauge)")["data"]["result"][0]["value"][1]
    )


ESCAPES = [
    '{__name__=~".+"}',
    'count({__name__=~".+"})',
    'sum({__name__=~"m_.*"})',
    f'm_gauge{{org="{ORG_B}"}}',
    f'm_gauge{{org=~"{ORG_A}|{ORG_B}"}}',
    'm_gauge{org!="x"}',
    'm_gauge{cluster=~".*"}',
    "m_gauge or vector(1)",
    "vector(1) or m_other",
    "m_gauge unless on() vector(1)",
    "sum(m_gauge) or on() vector(0)",
    'label_replace(m_gauge, "kind", "$1", "org", "(.*)")',
    "sum by (org) (m_gauge)",
    "sum without (org, cluster) (m_gauge)",
    "m_gauge * on(kind) group_left(org) m_gauge",
    "max_over_time(m_gauge[30m:1m])",
    "sum(rate(m_total[10m]))",
    "m_gauge offset 20m",
    "m_gauge @ end()",
    f"m_gauge @ {START + 600}",
    "sum_over_time(m_gauge[1h] offset 10m)",
    'm_gauge # {__name__=~".+"} or m_other',
    'm_gauge{kind="x\\"} or m_other{a=\\"b"}',
    "m_gauge{kind=`}`} or m_other",
    "sum",
    "rate",
    "start + sum",
    f'absent(m_other{{org="{ORG_B}"}})',
    'count_values("kind", m_gauge)',
    'topk(100, {__name__=~".+"})',
]


@pytest.mark.parametrize("query", ESCAPES, ids=[f"escape{i:02d}" for i in range(len(ESCAPES))])
def test_escape_attempts_see_only_the_scope(proms: tuple[str, str], query: str) -> None:
    everything, own = proms
    confined = confine(query, ORG_A, SCOPE)
    answer = ask(everything, confined)
    assert answer["status"] == "success", (confined, answer)
    assert_scoped(answer)
    assert normalised(answer) == normalised(ask(own, confined)), confined


@pytest.mark.parametrize(
    "query",
    ['label_replace(m_gauge, "org", "x", "", "")', 'count_values("org", m_gauge)'],
    ids=["relabel-org", "count-values-org"],
)
def test_relabelling_org_is_rejected(query: str) -> None:
    with pytest.raises(Invalid):
        confine(query, ORG_A, SCOPE)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries())
def test_property_confined_answers_equal_in_scope_answers(
    proms: tuple[str, str], query: str
) -> None:
    everything, own = proms
    try:
        confined = confine(query, ORG_A, SCOPE)
    except Invalid:
        return
    answer = ask(everything, confined)
    assert_scoped(answer)
    assert normalised(answer) == normalised(ask(own, confined)), confined


SYNTAX = [
    "m_gauge > bool on(kind) group_left(org) m_gauge",
    "topk by (kind) (1, m_gauge)",
    "m_gauge @ start()",
    "sum(m_gauge) without (cluster)",
    "-m_gauge ^ 2",
    "quantile(0.5, m_gauge)",
    "m_gauge offset -1m",
    "1 > bool 2",
    "m_gauge[5m] offset 1m",
    "rate(m_total[5m] @ end())",
    "sum by (kind) (m_gauge)[10m:1m]",
    "avg_over_time(sum by (kind) (m_gauge)[10m:1m])",
    "m_gauge atan2 m_gauge",
    "0x10 * m_gauge * Inf",
    "absent(nope)",
    'label_join(m_gauge, "x", "-", "org", "cluster")',
    '"str"',
    "holt_winters(m_gauge[10m], 0.5, 0.5)",
    "m_gauge{kind=~'x|y'} + m_gauge{kind=`x`}",
    "SUM BY (kind) (m_gauge)",
    "m_gauge unless ignoring(kind) m_gauge",
    "stddev(m_gauge) by (org)",
    "scalar(sum(m_gauge)) * 2",
]


@pytest.mark.parametrize("query", SYNTAX, ids=[f"syntax{i:02d}" for i in range(len(SYNTAX))])
def test_prometheus_accepts_the_printed_query(proms: tuple[str, str], query: str) -> None:
    everything, own = proms
    confined = confine(query, ORG_A, SCOPE)
    answer = ask(everything, confined)
    assert answer["status"] == "success", (confined, answer)
    assert normalised(answer) == normalised(ask(own, confined))
