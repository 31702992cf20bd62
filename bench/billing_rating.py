"""Rating a month for 10,000 clusters: 7.2 million hourly usage records on PostgreSQL.

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

The rows are loaded with COPY into a fresh database (indexes dropped during the load and
rebuilt after, then ANALYZE). Then, in the same process and on the same rows: the rating of
the whole month (`rating.rate`, all organisations) timed, its peak Python memory
(tracemalloc, in a second run) and the growth of the process's peak RSS during the first
run; one SQL aggregate ``SELECT org_id, component, sku, SUM(quantity) ... GROUP BY`` over the
month; and the ratio of the two. Writing the 100 draft invoices (rating included) is timed
too. Figures are printed, never asserted.
"""

from __future__ import annotations

import io
import resource
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

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
COLUMNS = "org_id, cluster_id, hour, service_level, component, sku, pool, quantity"
USAGE_INDEXES = (
    ("uq_usage_key", "CREATE UNIQUE INDEX uq_usage_key ON usage_record "
     "(cluster_id, hour, component, sku, pool)"),
    ("ix_usage_org_hour", "CREATE INDEX ix_usage_org_hour ON usage_record (org_id, hour)"),
    ("ix_usage_hour", "CREATE INDEX ix_usage_hour ON usage_record (hour)"),
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


def _seed_orgs_and_clusters(url: str) -> list[tuple[str, str, str]]:
    """Insert the organisations and clusters; return (org_id, cluster_id, level) per cluster."""
    from mkportal.models.base import new_id

    orgs = [new_id() for _ in range(ORGS)]
    clusters = []
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY organization (id, name, slug, created_at) FROM STDIN") as cp:
            for n, org in enumerate(orgs):
                cp.write_row((org, f"Org {n:03d}", f"org-{n:03d}", now))
        with cur.copy(
            "COPY cluster (id, org_id, name, provider, region, version, current_version, "
            "service_level, status, status_reason, features, feature_status, network, "
            "endpoint, provider_ref, credentials_enc, credentials_kind, created_by, "
            "created_at, updated_at) FROM STDIN"
        ) as cp:
            for i in range(CLUSTERS):
                cid, org = new_id(), orgs[i % ORGS]
                level = LEVELS[i % len(LEVELS)]
                clusters.append((org, cid, level))
                cp.write_row(
                    (cid, org, f"c-{i:05d}", "sandbox", "ch-gva-2", "1.35", "1.35", level,
                     "running", "", "[]", "{}", "{}", "", "", "", "", "bench", START, START)
                )  # fmt: skip
    return clusters


def _copy_usage(url: str, clusters: list[tuple[str, str, str]]) -> int:
    """COPY the 7.2 million usage rows; return how many were written."""
    hours = [(START + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S+00") for h in range(HOURS)]
    written = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for name, _ in USAGE_INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
        with cur.copy(f"COPY usage_record ({COLUMNS}) FROM STDIN") as cp:
            for i, (org, cid, _level) in enumerate(clusters):
                alive, items = shape(i)
                first = (i * 37) % (HOURS - alive + 1)
                level = items[0][1]
                buf = io.StringIO()
                for h in range(first, first + alive):
                    stamp = hours[h]
                    for component, sku, pool, qty in items:
                        buf.write(
                            f"{org}\t{cid}\t{stamp}\t{level}\t{component}\t{sku}\t{pool}\t{qty}\n"
                        )
                written += alive * len(items)
                cp.write(buf.getvalue())
        conn.commit()
    return written


def _rebuild_indexes(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, ddl in USAGE_INDEXES:
            conn.execute(ddl)
        conn.execute("ANALYZE usage_record")


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


def _sql_aggregate(url: str) -> tuple[float, int]:
    end = START + timedelta(hours=HOURS)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT org_id, component, sku, SUM(quantity) FROM usage_record "
            "WHERE hour >= %s AND hour < %s GROUP BY org_id, component, sku",
            (START, end),
        ).fetchall()
        return time.perf_counter() - started, len(rows)


def measure() -> dict:
    url = create_pg_database()
    try:
        apply_env(scratch_env(DATABASE_URL=url))
        from mkportal.migrate import upgrade
        from mkportal.services.actor import Actor
        from mkportal.services.billing import invoices, rating

        upgrade()
        _second_price_version()
        started = time.perf_counter()
        clusters = _seed_orgs_and_clusters(url)
        rows = _copy_usage(url, clusters)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        _rebuild_indexes(url)
        indexed = time.perf_counter() - started

        sql_first, groups = _sql_aggregate(url)  # warms the cache like the rating's first scan

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        charges = rating.rate(PERIOD)
        rate_seconds = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lines = sum(len(c.lines) for c in charges.values())
        total = sum(c.subtotal for c in charges.values())
        del charges

        sql_seconds, groups = _sql_aggregate(url)

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
        drop_pg_database(url)
    return {
        "database": "postgresql",
        "usage_rows": rows,
        "clusters": CLUSTERS,
        "orgs": ORGS,
        "load_copy_s": round(loaded, 1),
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
        "drafts_created": counts["created"],
    }


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:32s} {value}")
