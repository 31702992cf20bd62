"""PromQL confinement overhead: confined queries vs the same queries sent straight to Prometheus.

Backfills a TSDB with two organisations (20 clusters each, 10 nodes per cluster, one hour
of samples per minute) with `promtool`, runs Prometheus on it, and for a set of typical
explorer queries measures, in one run: the rewrite alone (`promql.confine`), the raw
query's HTTP round trip, and confine + the confined query's round trip. The ratio is
confined / raw (median of all runs); confined queries also select fewer series.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench.common import percentile
from mkportal.services.metrics.promql import confine
from tests.fakes.prometheus_backfill import SeriesSpec, backfilled_prometheus

ORGS = ("a0a0", "b1b1")
CLUSTERS = 20
NODES = 10
RUNS = 30
QUERIES = (
    "node_cpu_utilisation_ratio",
    "avg by (cluster) (node_cpu_utilisation_ratio)",
    "sum(rate(apiserver_request_total[5m])) by (cluster)",
    "histogram_quantile(0.99, sum by (le) (rate(apiserver_request_duration_seconds_bucket[5m])))",
    "max_over_time(node_cpu_utilisation_ratio[30m:1m]) > 0.5",
    'sum(rate(apiserver_request_total{code=~"5.."}[5m])) / sum(rate(apiserver_request_total[5m]))',
)


def _series() -> list[SeriesSpec]:
    out: list[SeriesSpec] = []
    for o, org in enumerate(ORGS):
        for c in range(CLUSTERS):
            cid = f"c{o}x{c:02d}"
            base = {"org": org, "cluster": cid}
            for n in range(NODES):
                out.append(
                    (
                        "node_cpu_utilisation_ratio",
                        {**base, "node": f"n{n}"},
                        lambda i, n=n: (i * 7 + n * 13) % 100 / 100,
                    )
                )
            for code in ("200", "500"):
                out.append(
                    (
                        "apiserver_request_total",
                        {**base, "code": code},
                        lambda i, k=code: i * (100 if k == "200" else 2),
                    )
                )
            for le in ("0.1", "0.5", "1", "+Inf"):
                out.append(
                    (
                        "apiserver_request_duration_seconds_bucket",
                        {**base, "le": le},
                        lambda i, le=le: i * {"0.1": 50, "0.5": 90, "1": 99}.get(le, 100),
                    )
                )
    return out  # fmt: skip


def _ask(url: str, query: str, at: int) -> float:
    started = time.perf_counter()
    r = requests.post(f"{url}/api/v1/query", data={"query": query, "time": at}, timeout=30)
    r.raise_for_status()
    assert r.json()["status"] == "success"
    return time.perf_counter() - started


def measure() -> dict:
    """Run the comparison and return the figures."""
    start = int(time.time()) // 3600 * 3600 - 3 * 3600
    at = start + 50 * 60
    scope = [f"c0x{c:02d}" for c in range(CLUSTERS)]
    with tempfile.TemporaryDirectory(prefix="mkportal-bench-promql-") as tmp:
        with backfilled_prometheus(Path(tmp), _series(), start) as url:
            for q in QUERIES:  # warm the caches
                _ask(url, q, at)
                _ask(url, confine(q, ORGS[0], scope), at)
            rewrite, raw, confined = [], [], []
            for _ in range(RUNS):
                for q in QUERIES:
                    raw.append(_ask(url, q, at))
                    t0 = time.perf_counter()
                    text = confine(q, ORGS[0], scope)
                    spent = time.perf_counter() - t0
                    rewrite.append(spent)
                    confined.append(spent + _ask(url, text, at))
    return {
        "queries": len(QUERIES) * RUNS,
        "confine_us_p50": round(percentile(rewrite, 50) * 1e6, 1),
        "confine_us_p95": round(percentile(rewrite, 95) * 1e6, 1),
        "raw_ms_p50": round(percentile(raw, 50) * 1000, 2),
        "confined_ms_p50": round(percentile(confined, 50) * 1000, 2),
        "confined_ms_p95": round(percentile(confined, 95) * 1000, 2),
        "ratio_confined_to_raw": round(statistics.median(confined) / statistics.median(raw), 3),
    }
