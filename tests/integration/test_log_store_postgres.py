"""The PostgreSQL log store: day partitions on demand (also under concurrency), retention
by dropping partitions, and the same search checks as on SQLite."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from mkportal.db import get_engine
from mkportal.services.errors import Forbidden, NotFound
from mkportal.services.logs import ingest, query, retention, tokens
from mkportal.services.logs.pg_store import FTS_DOC, FTS_QUERY, PgLogStore, partition_name
from mkportal.services.logs.query import LogFilters
from mkportal.services.logs.store import LogQuery, get_store
from tests.conftest import make_two_orgs
from tests.unit.test_log_ingest import batch, line, make_cluster
from tests.unit.test_log_store import CHECKS, _line

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_pg_store_behaves_like_sqlite(pg_db, check) -> None:
    store = get_store()
    assert isinstance(store, PgLogStore)
    check(store)


def test_partitions_are_created_on_demand_and_used_by_search(pg_db) -> None:
    store = get_store()
    store.insert(
        [_line(i, expires_on=date(2026, 12, 1) + timedelta(days=i % 3)) for i in range(30)]
    )
    assert store.partitions() == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
    with get_engine().connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {partition_name(date(2026, 12, 2))}"))
        assert n.scalar() == 10
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            conn.execute(
                text(f"EXPLAIN SELECT * FROM log_line WHERE {FTS_DOC} @@ {FTS_QUERY}"),
                {"tsq": "request"},
            ).scalars()
        )
    assert "log_line_p20261201" in plan and "Bitmap Index Scan" in plan


def test_concurrent_ingest_into_a_new_day(pg_db) -> None:
    errors: list[Exception] = []
    day = date(2027, 1, 15)

    def writer(n: int) -> None:
        try:
            PgLogStore(get_engine()).insert(
                [_line(i, expires_on=day, message=f"writer{n} line {i}") for i in range(200)]
            )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    from mkportal.services.logs import pg_store

    pg_store._KNOWN.clear()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = get_store()
    assert store.partitions() == [day]
    assert len(store.search(LogQuery("org-a", "c1", limit=1000, text="writer3")).items) == 200
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM log_line")).scalar() == 1200


def test_retention_drops_whole_partitions(pg_db) -> None:
    store = get_store()
    today = date(2026, 11, 24)
    store.insert([_line(i, expires_on=today - timedelta(days=1 + i % 2)) for i in range(20)])
    store.insert([_line(i, expires_on=today) for i in range(20, 25)])
    assert store.enforce_retention(today) == 2
    assert store.partitions() == [today]
    assert len(store.search(LogQuery("org-a", "c1", limit=100)).items) == 5
    store.insert([_line(1, expires_on=today + timedelta(days=1))])
    assert store.partitions() == [today, today + timedelta(days=1)]


def test_ingest_and_authorized_search_on_postgres(pg_db) -> None:
    people = make_two_orgs()
    a = make_cluster(people["acme_owner"].org_id, "a")
    plain, _ = tokens.create_ingest_token(people["acme_owner"], a)
    assert ingest.ingest_batch(plain, batch(*(line(i) for i in range(20)))).accepted == 20
    assert ingest.ingest_batch(plain, batch(line(30, cluster_id=a))).accepted == 1
    with pytest.raises(Forbidden):
        ingest.ingest_batch(plain, batch(line(1), line(2, cluster_id="other")))
    page = query.search_logs(people["acme_viewer"], a, LogFilters(text="items 7", limit=5))
    assert [x.message for x in page.items] == ["GET /api/items/7 200"]
    with pytest.raises(NotFound):
        query.search_logs(people["globex_owner"], a, LogFilters())
    assert retention.get_org_settings(people["acme_owner"]).used_bytes > 0
    assert retention.enforce() == 0
