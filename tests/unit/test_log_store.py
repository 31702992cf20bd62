"""The SQLite log store: search (incl. hostile input), filters, paging, histogram, context,
retention. The same checks run on PostgreSQL in tests/integration/test_log_store_postgres.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from mkportal.db import get_engine
from mkportal.services.logs.store import LogQuery, NewLine, get_store, to_micros

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EXPIRES = date(2027, 1, 1)  # within 90 days of T0, as ingest guarantees
HOSTILE = ['"; DROP TABLE log_line; --', "NEAR(", "*", '"', "'", "a OR b", "-x", "^", ")("]


def _line(i: int, **kw) -> NewLine:
    base = {
        "org_id": "org-a",
        "cluster_id": "c1",
        "ts": to_micros(T0 + timedelta(seconds=i)),
        "stream": "app",
        "level": "error" if i % 10 == 0 else "info",
        "message": f"request {i} served by backend pod-{i % 3}",
        "expires_on": EXPIRES,
        "namespace": "shop",
        "pod": f"web-{i % 3}",
        "container": "app",
    }
    base.update(kw)
    return NewLine(**base)


def seed(store) -> None:  # noqa: ANN001
    """Insert 100 lines of org-a/c1, a few special lines, and other orgs/clusters/streams."""
    lines = [_line(i) for i in range(100)]
    lines += [
        _line(200, level="info", message='user said "; DROP TABLE users; -- and NEAR(x) *'),
        _line(201, message="connection refused to database", level="warn"),
        _line(202, message="secret of org b", org_id="org-b", cluster_id="c9"),
        _line(203, message="request in cluster two", cluster_id="c2"),
        _line(
            204,
            message="audit request",
            stream="control-plane",
            component="audit",
            namespace="",
            pod="",
            container="",
        ),
    ]
    assert store.insert(lines) == len(lines)


def check_search_by_text_and_hostile_input(store) -> None:  # noqa: ANN001
    """Words match (AND), with highlight offsets; hostile input is plain text."""
    seed(store)
    page = store.search(LogQuery("org-a", "c1", text="connection refused"))
    assert [r.message for r in page.items] == ["connection refused to database"]
    assert page.items[0].highlights == [(0, 10), (11, 18)]
    page = store.search(LogQuery("org-a", "c1", text="DROP TABLE"))
    assert len(page.items) == 1 and "DROP TABLE" in page.items[0].message
    for hostile in HOSTILE:
        page = store.search(LogQuery("org-a", "c1", text=hostile, limit=1000))
        assert all(r.org_id == "org-a" and r.cluster_id == "c1" for r in page.items)
    assert len(store.search(LogQuery("org-a", "c1", text="*")).items) == 1
    assert len(store.search(LogQuery("org-a", "c1", text="NEAR(")).items) == 1
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM log_line")).scalar() == 105


def check_filters_and_isolation(store) -> None:  # noqa: ANN001
    """Every filter narrows; org, cluster and stream are always applied."""
    seed(store)
    q = LogQuery("org-a", "c1", limit=1000)
    assert len(store.search(q).items) == 102
    assert len(store.search(LogQuery("org-a", "c1", pod="web-1", limit=1000)).items) == 33
    errors = store.search(LogQuery("org-a", "c1", levels=("error",), limit=1000)).items
    assert len(errors) == 10 and {r.level for r in errors} == {"error"}
    window = store.search(
        LogQuery("org-a", "c1", start=T0 + timedelta(seconds=10), end=T0 + timedelta(seconds=20))
    )
    assert len(window.items) == 10
    assert store.search(LogQuery("org-a", "c1", text="secret")).items == []
    assert store.search(LogQuery("org-b", "c1", text="request")).items == []
    cp = store.search(LogQuery("org-a", "c1", stream="control-plane", component="audit"))
    assert [r.message for r in cp.items] == ["audit request"]


def check_keyset_paging(store) -> None:  # noqa: ANN001
    """Pages go older and newer again without gaps or repeats, ties broken by id."""
    lines = [_line(i, ts=to_micros(T0) + (i // 2)) for i in range(25)]
    store.insert(lines)
    q = LogQuery("org-a", "c1", limit=10)
    p1 = store.search(q)
    p2 = store.search(LogQuery("org-a", "c1", limit=10, cursor=p1.older))
    p3 = store.search(LogQuery("org-a", "c1", limit=10, cursor=p2.older))
    ids = [r.id for r in p1.items + p2.items + p3.items]
    assert len(ids) == 25 == len(set(ids)) and p3.older is None
    assert [r.cursor for r in p1.items + p2.items + p3.items] == sorted(
        (r.cursor for r in p1.items + p2.items + p3.items),
        key=lambda c: (c.ts, c.id),
        reverse=True,
    )
    back = store.search(LogQuery("org-a", "c1", limit=10, cursor=p3.newer, direction="newer"))
    assert [r.id for r in back.items] == [r.id for r in p2.items]
    first = store.search(LogQuery("org-a", "c1", limit=10, cursor=back.newer, direction="newer"))
    assert [r.id for r in first.items] == [r.id for r in p1.items] and first.newer is None


def check_histogram_context_tail(store) -> None:  # noqa: ANN001
    """Buckets count per level; context stays within the pod; tail returns newer lines."""
    seed(store)
    buckets = store.histogram(
        LogQuery("org-a", "c1", start=T0, end=T0 + timedelta(seconds=100)), 10
    )
    assert [b.count for b in buckets] == [10] * 10
    assert buckets[0].levels == {"error": 1, "info": 9}
    assert buckets[3].start == T0 + timedelta(seconds=30)
    middle = store.search(LogQuery("org-a", "c1", text="request 50")).items[0]
    ctx = store.context(LogQuery("org-a", "c1"), middle.id, 2, 2)
    assert [r.message.split()[1] for r in ctx] == ["44", "47", "50", "53", "56"]
    assert store.context(LogQuery("org-b", "c9"), middle.id, 2, 2) == []
    newest = store.tail(LogQuery("org-a", "c1", limit=3), None)
    assert [r.message.split()[0] for r in newest][-1] == "connection"
    after = store.tail(LogQuery("org-a", "c1", limit=5), newest[0].cursor)
    assert [r.id for r in after] == [r.id for r in newest[1:]]


def check_retention(store) -> None:  # noqa: ANN001
    """Lines that expired before today are removed, the rest stay."""
    today = date(2026, 11, 24)
    store.insert([_line(i, expires_on=today - timedelta(days=1)) for i in range(30)])
    store.insert([_line(i, expires_on=today) for i in range(30, 40)])
    assert store.enforce_retention(today) > 0
    left = store.search(LogQuery("org-a", "c1", limit=1000)).items
    assert len(left) == 10
    assert store.search(LogQuery("org-a", "c1", text="request 5")).items == []
    assert len(store.search(LogQuery("org-a", "c1", text="request 35")).items) == 1


CHECKS = [
    check_search_by_text_and_hostile_input,
    check_filters_and_isolation,
    check_keyset_paging,
    check_histogram_context_tail,
    check_retention,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_sqlite_store(db, check) -> None:
    store = get_store()
    assert type(store).__name__ == "SqliteLogStore"
    check(store)


def test_retention_keeps_fts_in_sync(db) -> None:
    store = get_store()
    store.insert([_line(i, expires_on=date(2000, 1, 1)) for i in range(12_000)])
    assert store.enforce_retention(date(2026, 1, 1)) == 12_000
    with get_engine().connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM log_line_fts WHERE log_line_fts MATCH 'request'")
        )
        assert n.scalar() == 0
