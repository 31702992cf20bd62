"""Rating a month for 10,000 clusters: 7.2 million hourly usage records (PostgreSQL, SQLite).

The data set (September 2026, 30 days = 720 hours), exactly 7,200,000 `usage_record` rows:
10,000 clusters in 100 organisations (100 each), every cluster with 720 rows, in three
shapes that together exercise every pricing path (proration, levels, surcharges,
features, several pools):

* 6,000 clusters live 360 hours with 2 rows per hour (``cluster`` + one ``node`` pool);
* 2,000 clusters live 240 hours with 3 rows per hour (+ one ``feature``);
* 2,000 clusters live 180 hours with 4 rows per hour (two ``node`` pools + a ``feature``).

Each cluster starts at a different hour; service levels cycle through zero, standard,
professional and premium; machine types through the sandbox catalog. A second price version
takes effect on the 16th, so the month is rated in two intervals.

The rows are loaded into a fresh database: PostgreSQL with COPY, SQLite (the embedded
default; skip it with ``BENCH_BILLING_SQLITE=0``) with executemany; secondary indexes are
dropped during the load and rebuilt after, then ANALYZE. Then, in the same process and on
the same rows: the rating of
the whole month (`rating.rate`, all organisations) timed, its peak Python memory
(tracemalloc, in a second run) and the growth of the process's peak RSS during the first
run; one SQL aggregate ``SELECT org_id, component, sku, SUM(quantity) ... GROUP BY`` over the
month; and the ratio of the two. Writing the 100 draft invoices (rating included) is timed
too. Figures are printed, never asserted.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import shutil
import sqlite3
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench.common import apply_env, create_pg_database, drop_pg_database, scratch_env

PERIOD = "2026-09"
START = datetime(2026, 9, 1, tzinfo=UTC)
HOURS = 720
ORGS = 100
CLUSTERS = 10_000
LEVELS = ("zero", "standard", "professional", "premium")
MACHINES = ("s-2", "s-4", "m-4", "m-8", "c-16")
FEATURES = ("ingress-controller", "cert-manager", "metrics-agent", "log-agent")
END = START + timedelta(hours=HOURS)
COLUMNS = "org_id, cluster_id, hour, service_level, component, sku, pool, quantity"
CLUSTER_COLUMNS = (
    "id, org_id, name, provider, region, version, current_version, service_level, status, "
    "status_reason, features, feature_status, network, endpoint, provider_ref, credentials_enc, "
    "credentials_kind, created_by, created_at, updated_at"
)
AGGREGATE = (
    "SELECT org_id, component, sku, SUM(quantity) FROM usage_record "
    "WHERE hour >= ? AND hour < ? GROUP BY org_id, component, sku"
)
USAGE_INDEXES = (  # (drop, create)
    ("ALTER TABLE usage_record DROP CONSTRAINT uq_usage_key",
     "ALTER TABLE usage_record ADD CONSTRAINT uq_usage_key "
     "UNIQUE (cluster_id, hour, component, sku, pool)"),
    ("DROP INDEX ix_usage_org_hour",
     "CREATE INDEX ix_usage_org_hour ON usage_record (org_id, hour)"),
    ("DROP INDEX ix_usage_hour", "CREATE INDEX ix_usage_hour ON usage_record (hour)"),
)  # fmt: skip


def shape(i: int) -> tuple[int, list[tuple[str, str, str, int]]]:
    """Return the hours a cluster lives and its records per hour (component, sku, pool, qty)."""
    level = LEVELS[i % len(LEVELS)]
    machine = f"sandbox/{MACHINES[i % len(MACHINES)]}"
    nodes = 1 + i % 5
    kind = i % 10
    if kind < 6:
        return 360, [("cluster", level, "", 1), ("node", machine, "default", nodes)]
    feature = FEATURES[i % len(FEATURES)]
    if kind < 8:
        return 240, [
            ("cluster", level, "", 1),
            ("node", machine, "default", nodes),
            ("feature", feature, "", 1),
        ]
    other = f"sandbox/{MACHINES[(i + 2) % len(MACHINES)]}"
    return 180, [
        ("cluster", level, "", 1),
        ("node", machine, "default", nodes),
        ("node", other, "workers", 1 + i % 3),
        ("feature", feature, "", 1),
    ]


def _rows_of_orgs_and_clusters() -> tuple[list[tuple], list[tuple]]:
    """Return the organisation rows and the cluster rows (their columns as in the COPYs)."""
    from mkportal.models.base import new_id

    now = datetime.now(UTC)
    orgs = [(new_id(), f"Org {n:03d}", f"org-{n:03d}", now) for n in range(ORGS)]
    clusters = [
        (new_id(), orgs[i % ORGS][0], f"c-{i:05d}", "sandbox", "ch-gva-2", "1.35", "1.35",
         LEVELS[i % len(LEVELS)], "running", "", "[]", "{}", "{}", "", "", "", "", "bench",
         START, START)
        for i in range(CLUSTERS)
    ]  # fmt: skip
    return orgs, clusters


def _usage_rows(clusters: list[tuple], stamp: Callable[[int], str]) -> Iterator[tuple]:
    """Yield the usage rows (columns as in `COLUMNS`); `stamp(h)` formats hour h."""
    hours = [stamp(h) for h in range(HOURS)]
    for i, cluster in enumerate(clusters):
        cid, org = cluster[0], cluster[1]
        alive, items = shape(i)
        first = (i * 37) % (HOURS - alive + 1)
        level = items[0][1]
        for h in range(first, first + alive):
            for component, sku, pool, qty in items:
                yield org, cid, hours[h], level, component, sku, pool, qty


class Postgres:
    """A fresh PostgreSQL database loaded with COPY."""

    name = "postgresql"

    def __init__(self) -> None:
        self.url = create_pg_database()

    def env(self) -> dict:
        return scratch_env(DATABASE_URL=self.url)

    def load(self) -> int:
        orgs, clusters = _rows_of_orgs_and_clusters()
        written = 0
        with psycopg.connect(self.url) as conn, conn.cursor() as cur:
            with cur.copy("COPY organization (id, name, slug, created_at) FROM STDIN") as cp:
                for row in orgs:
                    cp.write_row(row)
            with cur.copy(f"COPY cluster ({CLUSTER_COLUMNS}) FROM STDIN") as cp:
                for row in clusters:
                    cp.write_row(row)
            for drop, _ in USAGE_INDEXES:
                cur.execute(drop)
            conn.commit()
            with cur.copy(f"COPY usage_record ({COLUMNS}) FROM STDIN") as cp:
                buf = io.StringIO()
                rows = _usage_rows(
                    clusters,
                    lambda h: (START + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S+00"),
                )
                for row in rows:
                    buf.write("\t".join(map(str, row)) + "\n")
                    written += 1
                    if written % 100_000 == 0:
                        cp.write(buf.getvalue())
                        buf = io.StringIO()
                cp.write(buf.getvalue())
            conn.commit()
        return written

    def index(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")
            for _, create in USAGE_INDEXES:
                conn.execute(create)
            conn.execute("ANALYZE usage_record")

    def aggregate(self) -> tuple[float, int]:
        with psycopg.connect(self.url) as conn:
            started = time.perf_counter()
            rows = conn.execute(AGGREGATE.replace("?", "%s"), (START, END)).fetchall()
            return time.perf_counter() - started, len(rows)

    def close(self) -> None:
        drop_pg_database(self.url)


class Sqlite:
    """The embedded default: a SQLite file, loaded with executemany."""

    name = "sqlite"

    def __init__(self) -> None:
        self._env = scratch_env()

    def env(self) -> dict:
        return self._env

    def _connect(self) -> sqlite3.Connection:
        from mkportal.settings import get_settings

        url = get_settings().database_url
        return sqlite3.connect(url.removeprefix("sqlite:///"))

    def load(self) -> int:
        orgs, clusters = _rows_of_orgs_and_clusters()
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        conn = self._connect()
        conn.execute("PRAGMA synchronous = OFF")
        with conn:
            conn.executemany(
                "INSERT INTO organization (id, name, slug, created_at) VALUES (?, ?, ?, ?)",
                [(*row[:3], row[3].strftime(fmt)) for row in orgs],
            )
            conn.executemany(
                f"INSERT INTO cluster ({CLUSTER_COLUMNS}) VALUES ({', '.join('?' * 20)})",
                [(*row[:18], START.strftime(fmt), START.strftime(fmt)) for row in clusters],
            )
            for drop, _ in USAGE_INDEXES[1:]:  # the unique key is part of the table on SQLite
                conn.execute(drop)
        rows = _usage_rows(clusters, lambda h: (START + timedelta(hours=h)).strftime(fmt))
        with conn:
            cur = conn.executemany(
                f"INSERT INTO usage_record ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            written = cur.rowcount
        conn.close()
        return written

    def index(self) -> None:
        conn = self._connect()
        with conn:
            for _, create in USAGE_INDEXES[1:]:
                conn.execute(create)
            conn.execute("ANALYZE")
        conn.close()

    def aggregate(self) -> tuple[float, int]:
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        conn = self._connect()
        started = time.perf_counter()
        rows = conn.execute(AGGREGATE, (START.strftime(fmt), END.strftime(fmt))).fetchall()
        seconds = time.perf_counter() - started
        conn.close()
        return seconds, len(rows)

    def close(self) -> None:
        shutil.rmtree(Path(self._env["MKPORTAL_VAR"]).parent, ignore_errors=True)


def _second_price_version() -> None:
    from decimal import Decimal

    from mkportal.db import session_scope
    from mkportal.models.billing import PriceModel
    from mkportal.services.billing.prices import all_versions

    first = all_versions()[0].components
    raised = {k: v * Decimal("1.1") for k, v in first.node_hour.items()}
    components = first.model_copy(update={"node_hour": raised})
    with session_scope() as s:
        s.add(
            PriceModel(
                version=2,
                effective_from=START + timedelta(days=15),
                currency="CHF",
                components=components.as_json(),
                note="bench: node prices +10 % from the 16th",
                created_by="bench",
            )
        )


def run(db: Postgres | Sqlite) -> dict:
    """Load the month into `db`, rate it and aggregate it; return the figures."""
    try:
        apply_env(db.env())
        from mkportal.migrate import upgrade
        from mkportal.services.actor import Actor
        from mkportal.services.billing import invoices, rating

        upgrade()
        _second_price_version()
        started = time.perf_counter()
        rows = db.load()
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        db.index()
        indexed = time.perf_counter() - started

        sql_first, groups = db.aggregate()  # warms the cache like the rating's first scan

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        charges = rating.rate(PERIOD)
        rate_seconds = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lines = sum(len(c.lines) for c in charges.values())
        total = sum(c.subtotal for c in charges.values())
        del charges

        sql_seconds, groups = db.aggregate()

        tracemalloc.start()
        rating.rate(PERIOD)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        started = time.perf_counter()
        ids, counts = invoices.build_drafts(PERIOD, actor=Actor.system("bench"))
        drafts_seconds = time.perf_counter() - started
    finally:
        from mkportal.db import reset_engine

        reset_engine()
        db.close()
    return {
        "usage_rows": rows,
        "load_s": round(loaded, 1),
        "load_indexes_analyze_s": round(indexed, 1),
        "rate_month_s": round(rate_seconds, 2),
        "rate_month_lines": lines,
        "rate_month_total_chf": str(total),
        "rate_peak_python_mib": round(peak / 2**20, 1),
        "rate_maxrss_growth_mib": round((rss_after - rss_before) / 1024, 1),
        "sql_aggregate_s": round(sql_seconds, 2),
        "sql_aggregate_first_s": round(sql_first, 2),
        "sql_aggregate_groups": groups,
        "ratio_rate_to_sql": round(rate_seconds / sql_seconds, 2),
        "write_100_drafts_s": round(drafts_seconds, 2),
        "drafts_written": len(ids),
    }


def _run_named(name: str) -> dict:
    return run(Postgres() if name == "postgresql" else Sqlite())


def measure() -> dict:
    """Run on PostgreSQL, and on SQLite unless ``BENCH_BILLING_SQLITE=0``.

    Each database is measured in a fresh child process, so that its peak RSS is its own.
    """
    figures = {"clusters": CLUSTERS, "orgs": ORGS}
    names = ["postgresql"] + (
        ["sqlite"] if os.environ.get("BENCH_BILLING_SQLITE", "1") != "0" else []
    )
    for name in names:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            result = pool.apply(_run_named, (name,))
        prefix = "pg" if name == "postgresql" else name
        figures |= {f"{prefix}_{k}": v for k, v in result.items()}
    return figures


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:32s} {value}")
