"""Historic logs on PostgreSQL: ingest rate, search latency over many lines, retention.

1. Ingest rate through the real ingest function (`ingest_batch`: token check, parsing,
   validation, COPY into the day partition, usage counter), batches of 1,000 JSON lines.
2. Bulk load LOGS_BENCH_LINES lines (default 10 million) over 7 days and 50 clusters,
   generated in SQL into standalone day tables that are then attached as partitions (the
   indexes are built once per partition, as a restore would).
3. Search p50/p95 over 50 queries (words + cluster + a 6-hour window, first page of 100).
4. Retention: drop an expired day partition of LOGS_BENCH_EXPIRED_LINES (default 1 million).
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bench.common import apply_env, create_pg_database, drop_pg_database, percentile, scratch_env

CLUSTERS = 50
DAYS = 7
WORDS = ["timeout", "refused", "upstream", "checkout", "payment", "deadline", "oom", "retry"]
MESSAGES = [
    "GET /api/v1/items/{n} 200 {ms}ms",
    "POST /checkout/{n} 502 upstream timeout after {ms}ms",
    "connection refused to payment-db:5432 retry {n}",
    "user {n} logged in from 10.0.{ms}.7",
    "context deadline exceeded while calling inventory ({ms}ms)",
    "OOMKilled container restarted, restart count {n}",
]
LOAD_SQL = """
INSERT INTO {table} (id, org_id, cluster_id, ts, stream, namespace, pod, container, component,
                     level, message, attrs, expires_on)
SELECT nextval(pg_get_serial_sequence('log_line', 'id')), :org, 'bench-cluster-' || (g % 50),
       :t0 + (g::bigint * :span / :n),
       'app', 'ns-' || (g % 7), 'web-' || (g % 40), 'app', '',
       (ARRAY['info','info','info','info','warn','error','debug'])[1 + g % 7],
       format((ARRAY['GET /api/v1/items/%s 200 %sms',
                     'POST /checkout/%s 502 upstream timeout after %sms',
                     'connection refused to payment-db:5432 retry %s (%s)',
                     'user %s logged in from 10.0.%s.7',
                     'context deadline exceeded while calling inventory %s (%sms)',
                     'OOMKilled container restarted, restart count %s %s'])[1 + (g::bigint * 7919) % 6],
              g % 100000, g % 997),
       '{{}}'::jsonb, :expires
FROM generate_series(0, :n - 1) AS g
"""


def _setup() -> tuple[str, list[str]]:
    from mkportal.db import session_scope
    from mkportal.migrate import upgrade
    from mkportal.models.cluster import Cluster
    from mkportal.services.users import create_user

    upgrade()
    create_user("bench@logs.test", "bench-password-1", org="Bench")
    with session_scope() as s:
        org_id = s.exec(text("SELECT org_id FROM membership")).scalar()
        ids = []
        for i in range(CLUSTERS):
            c = Cluster(org_id=org_id, name=f"c{i}", provider="sandbox", region="r", version="1.35")
            c.id = f"bench-cluster-{i}"
            s.add(c)
            ids.append(c.id)
    return org_id, ids


def _ingest_rate(cluster_id: str, batches: int) -> float:
    from mkportal.services.actor import Actor
    from mkportal.services.logs.ingest import ingest_batch
    from mkportal.services.logs.tokens import create_ingest_token

    token, _ = create_ingest_token(Actor.system("bench"), cluster_id)
    rng = random.Random(1)
    now = datetime.now(UTC)
    bodies = []
    for b in range(batches):
        lines = []
        for i in range(1000):
            msg = rng.choice(MESSAGES).format(n=rng.randint(1, 99999), ms=rng.randint(1, 999))
            ts = now - timedelta(seconds=(b * 1000 + i) / 100)
            lines.append(
                json.dumps(
                    {
                        "ts": ts.isoformat(),
                        "message": msg,
                        "level": "info",
                        "namespace": "shop",
                        "pod": f"web-{i % 5}",
                        "container": "app",
                        "attrs": {"req": i},
                    }
                )  # fmt: skip
            )
        bodies.append("\n".join(lines).encode())
    started = time.perf_counter()
    for body in bodies:
        assert ingest_batch(token, body).accepted == 1000
    return batches * 1000 / (time.perf_counter() - started)


def _load_day(org_id: str, day_start: datetime, n: int, expires) -> None:  # noqa: ANN001
    from mkportal.db import get_engine
    from mkportal.services.logs.pg_store import partition_name
    from mkportal.services.logs.store import to_micros

    name = partition_name(expires)
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        conn.execute(
            text(f"CREATE TABLE {name} (LIKE log_line INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        )
        conn.execute(
            text(LOAD_SQL.format(table=name)),
            {
                "org": org_id,
                "t0": to_micros(day_start),
                "span": 86_400_000_000,
                "n": n,
                "expires": expires,
            },
        )
        conn.execute(
            text(
                f"ALTER TABLE log_line ATTACH PARTITION {name} FOR VALUES FROM "
                f"('{expires.isoformat()}') TO ('{(expires + timedelta(days=1)).isoformat()}')"
            )
        )
        conn.execute(text(f"ANALYZE {name}"))


def measure() -> dict:
    """Run the log-store benchmark on a fresh PostgreSQL database and return the figures."""
    from mkportal.services.logs.store import LogQuery, get_store

    total = int(os.environ.get("LOGS_BENCH_LINES", "10000000"))
    expired_lines = int(os.environ.get("LOGS_BENCH_EXPIRED_LINES", "1000000"))
    url = create_pg_database()
    figures: dict = {}
    try:
        apply_env(scratch_env(DATABASE_URL=url))
        org_id, clusters = _setup()
        figures["ingest lines/s (batches of 1,000)"] = round(_ingest_rate(clusters[0], 30))

        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        print(f"  (ingest {figures}; loading {total:,} lines)", flush=True)
        started = time.perf_counter()
        per_day = total // DAYS
        for d in range(DAYS):
            day_start = today - timedelta(days=DAYS - d)
            _load_day(org_id, day_start, per_day, (day_start + timedelta(days=DAYS)).date())
            print(
                f"  (day {d + 1}/{DAYS} loaded, {time.perf_counter() - started:.0f} s)", flush=True
            )
        load_s = time.perf_counter() - started
        figures["bulk-loaded lines"] = per_day * DAYS
        figures["bulk load incl. indexes (s)"] = round(load_s, 1)

        store = get_store()
        rng = random.Random(7)
        latencies = []
        for _ in range(50):
            start = today - timedelta(days=rng.randint(1, DAYS), hours=rng.randint(0, 18))
            q = LogQuery(
                org_id,
                rng.choice(clusters),
                text=rng.choice(WORDS[:6]) + " " + rng.choice(["", "retry", "ms"]),
                start=start,
                end=start + timedelta(hours=6),
                limit=100,
            )
            t = time.perf_counter()
            store.search(q)
            latencies.append((time.perf_counter() - t) * 1000)
        figures["search p50 (ms)"] = round(percentile(latencies, 50), 1)
        figures["search p95 (ms)"] = round(percentile(latencies, 95), 1)
        plain = []
        for _ in range(20):
            t = time.perf_counter()
            store.search(LogQuery(org_id, rng.choice(clusters), limit=100))
            plain.append((time.perf_counter() - t) * 1000)
        figures["newest page, no text, p50 (ms)"] = round(percentile(plain, 50), 1)

        expired = (today - timedelta(days=1)).date()
        _load_day(org_id, today - timedelta(days=DAYS + 1), expired_lines, expired)
        t = time.perf_counter()
        dropped = store.enforce_retention(today.date())
        figures["retention: partitions dropped"] = dropped
        figures[f"retention: drop a day of {expired_lines:,} lines (s)"] = round(
            time.perf_counter() - t, 3
        )
    finally:
        from mkportal.db import reset_engine

        reset_engine()
        drop_pg_database(url)
    return figures
