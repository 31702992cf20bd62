"""Run every benchmark and print the figures (also written to bench/out/results.json).

Usage: `make bench`, or `python -m bench.run_all [name ...]` with names from BENCHMARKS.
"""

from __future__ import annotations

import importlib
import json
import sys
import time

from bench.common import OUT

BENCHMARKS = ["startup", "api_latency", "engine", "clusters", "cluster_list", "billing_page",
              "billing_rating", "logs_store", "metrics_dashboard", "promql_confine",
              "alarm_eval", "backup_roundtrip", "backup_prune"]  # fmt: skip


def main(names: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for name in names or BENCHMARKS:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        figures = importlib.import_module(f"bench.{name}").measure()
        for key, value in figures.items():
            print(f"  {key:40s} {value}", flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
        results[name] = figures
    path = OUT / "results.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(previous | results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
