"""Log ingestion: tokens, all-or-nothing batches, limits, cross-cluster writes, quota,
retention settings and the authorized read API."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from mkportal.db import get_engine, session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.cluster import Cluster
from mkportal.models.logs import LogSettings
from mkportal.services import mail
from mkportal.services.errors import Forbidden, Invalid, NotFound, RateLimited, Unauthenticated
from mkportal.services.logs import ingest, query, retention, tokens
from mkportal.services.logs.query import LogFilters
from mkportal.worker.tick import _HOOKS

NOW = datetime.now(UTC).replace(microsecond=0)


def make_cluster(org_id: str, name: str = "web") -> str:
    """Insert a running cluster row for `org_id`."""
    with session_scope() as s:
        c = Cluster(org_id=org_id, name=name, provider="sandbox", region="ch-gva-2", version="1.35")
        s.add(c)
        s.flush()
        return c.id


def batch(*lines: dict) -> bytes:
    """Encode lines as a JSON-lines batch."""
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


def line(i: int = 0, **kw) -> dict:
    """A valid app line `i` seconds before NOW."""
    return {
        "ts": (NOW - timedelta(seconds=i)).isoformat(),
        "message": f"GET /api/items/{i} 200",
        "level": "INFO",
        "namespace": "shop",
        "pod": "web-1",
        "container": "app",
        **kw,
    }


def count_lines() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM log_line")).scalar()


@pytest.fixture
def setup(two_orgs) -> dict:
    acme = two_orgs["acme_owner"]
    globex = two_orgs["globex_owner"]
    a = make_cluster(acme.org_id, "a")
    b = make_cluster(acme.org_id, "b")
    g = make_cluster(globex.org_id, "g")
    token_a, info_a = tokens.create_ingest_token(two_orgs["acme_member"], a)
    return {**two_orgs, "a": a, "b": b, "g": g, "token_a": token_a, "info_a": info_a}


def test_ingest_plain_and_gzip_then_search(setup):
    r = ingest.ingest_batch(setup["token_a"], batch(*(line(i) for i in range(50))))
    assert r.accepted == 50 and r.dropped_expired == 0 and r.bytes > 0
    gz = gzip.compress(batch(line(100, message="gzip says hello", level="warning")))
    assert ingest.ingest_batch(setup["token_a"], gz, "gzip").accepted == 1
    page = query.search_logs(setup["acme_viewer"], setup["a"], LogFilters(text="hello"))
    assert [(x.message, x.level) for x in page.items] == [("gzip says hello", "warn")]
    assert page.items[0].highlights == [(10, 15)]


def test_token_is_shown_once_hashed_and_listed(setup):
    listed = tokens.list_ingest_tokens(setup["acme_viewer"], setup["a"])
    assert [t.id for t in listed] == [setup["info_a"].id]
    with session_scope() as s:
        stored = s.exec(text("SELECT token_hash FROM log_ingest_token")).scalar()
    assert setup["token_a"] not in stored and len(stored) == 64
    with pytest.raises(Forbidden):
        tokens.create_ingest_token(setup["acme_viewer"], setup["a"])
    with pytest.raises(NotFound):
        tokens.create_ingest_token(setup["globex_owner"], setup["a"])
    with pytest.raises(NotFound):
        tokens.list_ingest_tokens(setup["globex_owner"], setup["a"])


def test_wrong_and_revoked_tokens_are_refused(setup):
    for bad in (None, "", "garbage", "mkl_" + "x" * 40, "mkp_" + "x" * 40):
        with pytest.raises(Unauthenticated):
            ingest.ingest_batch(bad, batch(line()))
    with pytest.raises(NotFound):
        tokens.revoke_ingest_token(setup["globex_owner"], setup["a"], setup["info_a"].id)
    tokens.revoke_ingest_token(setup["acme_owner"], setup["a"], setup["info_a"].id)
    with pytest.raises(Unauthenticated, match="revoked"):
        ingest.ingest_batch(setup["token_a"], batch(line()))
    assert count_lines() == 0


def test_token_for_cluster_a_cannot_write_cluster_b(setup):
    body = batch(line(1), line(2, cluster_id=setup["b"]))
    with pytest.raises(Forbidden, match="line 2"):
        ingest.ingest_batch(setup["token_a"], body)
    assert count_lines() == 0
    ok = ingest.ingest_batch(setup["token_a"], batch(line(1, cluster_id=setup["a"])))
    assert ok.accepted == 1
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT DISTINCT cluster_id FROM log_line")).scalars().all() == [
            setup["a"]
        ]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json}\n", "line 2"),
        (json.dumps([1, 2]).encode(), "line 2"),
        (json.dumps({"ts": NOW.isoformat()}).encode(), "message is required"),
        (json.dumps({"message": "x"}).encode(), "ts is required"),
        (json.dumps({**line(), "ts": "yesterday"}).encode(), "line 2"),
        (json.dumps({**line(), "stream": "kernel"}).encode(), "stream"),
        (json.dumps({**line(), "stream": "control-plane", "component": "x"}).encode(), "component"),
        (json.dumps({**line(), "attrs": [1]}).encode(), "attrs"),
        (json.dumps({**line(), "extra": 1}).encode(), "unknown fields"),
        (json.dumps({**line(), "message": "x" * 70_000}).encode(), "limit"),
        (json.dumps({**line(), "ts": (NOW + timedelta(days=1)).isoformat()}).encode(), "future"),
        (b'{"message": "x", "ts": 1, "attrs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "line 2"),
        (json.dumps({**line(), "ts": 1e20}).encode(), "line 2"),
        (b'{"message": "\xff\xfe", "ts": 1}', "line 2"),
    ],
    # Stable ids: the cases hold the current time, which differs between xdist workers.
    ids=[
        "not-json",
        "not-an-object",
        "no-message",
        "no-ts",
        "bad-ts",
        "bad-stream",
        "bad-component",
        "bad-attrs",
        "unknown-field",
        "too-long",
        "future",
        "too-deep",
        "huge-ts",
        "not-utf8",
    ],
)
def test_malformed_lines_reject_the_whole_batch(setup, raw, needle):
    body = batch(line(1)) + raw + b"\n" + batch(line(3))
    with pytest.raises(Invalid) as err:
        ingest.ingest_batch(setup["token_a"], body)
    assert "line 2" in err.value.errors and needle in str(err.value)
    assert count_lines() == 0


def test_oversized_batches(setup, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_BATCH_LINES", 5)
    with pytest.raises(ingest.PayloadTooLarge):
        ingest.ingest_batch(setup["token_a"], batch(*(line(i) for i in range(6))))
    monkeypatch.setattr(ingest, "MAX_BATCH_BYTES", 10_000)
    bomb = gzip.compress(b"\n" * 200_000)
    with pytest.raises(ingest.PayloadTooLarge):
        ingest.ingest_batch(setup["token_a"], bomb, "gzip")
    with pytest.raises(Invalid, match="gzip"):
        ingest.ingest_batch(setup["token_a"], b"not gzip", "gzip")
    with pytest.raises(ingest.UnsupportedEncoding):
        ingest.ingest_batch(setup["token_a"], batch(line()), "br")
    with pytest.raises(Invalid, match="no lines"):
        ingest.ingest_batch(setup["token_a"], b"\n\n")
    assert count_lines() == 0


def test_expiry_follows_org_and_cluster_retention(setup):
    retention.update_org_settings(setup["acme_owner"], app_retention_days=3)
    retention.set_control_plane_retention(setup["operator"], setup["a"], 30)
    cp = line(0, stream="control-plane", component="audit", namespace="", pod="", container="")
    old = line(0, ts=(NOW - timedelta(days=5)).isoformat())
    r = ingest.ingest_batch(setup["token_a"], batch(line(0), cp, old))
    assert r.accepted == 2 and r.dropped_expired == 1
    with get_engine().connect() as conn:
        rows = dict(conn.execute(text("SELECT stream, expires_on FROM log_line")).all())
    assert rows["app"] == (NOW.date() + timedelta(days=3)).isoformat()
    assert rows["control-plane"] == (NOW.date() + timedelta(days=30)).isoformat()


def test_retention_settings_are_validated_and_authorized(setup):
    for days in (0, 91):
        with pytest.raises(Invalid):
            retention.update_org_settings(setup["acme_owner"], app_retention_days=days)
        with pytest.raises(Invalid):
            retention.set_control_plane_retention(setup["operator"], setup["a"], days)
    with pytest.raises(Forbidden):
        retention.update_org_settings(setup["acme_member"], app_retention_days=5)
    with pytest.raises(Forbidden):
        retention.update_org_settings(setup["acme_owner"], operator_grants_control_plane=True)
    with pytest.raises(NotFound):
        retention.set_control_plane_retention(setup["acme_owner"], setup["a"], 5)
    with pytest.raises(NotFound):
        retention.get_org_settings(setup["acme_owner"], setup["globex_owner"].org_id)
    got = retention.get_org_settings(setup["acme_viewer"])
    assert got.app_retention_days == 7 and got.quota_bytes == 10 * 1024**3
    assert (
        retention.get_cluster_settings(
            setup["acme_viewer"], setup["a"]
        ).control_plane_retention_days
        == 14
    )  # noqa: E501


def test_retention_tick_hook_removes_expired_lines(setup):
    ingest.ingest_batch(setup["token_a"], batch(*(line(i) for i in range(10))))
    assert "logs.retention" in _HOOKS
    assert retention.enforce(NOW.date()) == 0
    assert retention.enforce(NOW.date() + timedelta(days=8)) == 10
    assert count_lines() == 0


def test_quota_warns_then_refuses(setup):
    org = setup["acme_owner"].org_id
    with session_scope() as s:
        s.add(LogSettings(org_id=org, quota_bytes=4000))
    big = batch(*(line(i, message="x" * 100) for i in range(12)))
    first = ingest.ingest_batch(setup["token_a"], big)
    assert first.quota_reached is False
    second = ingest.ingest_batch(setup["token_a"], big)
    assert second.quota_reached is True
    with session_scope() as s:
        assert s.get(LogSettings, org).warned_at is not None
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "logs.quota_reached")).all()
        assert len(events) == 1 and events[0].org_id == org
    warnings = [m for m in mail.list_outbox(setup["operator"]).items if "log quota" in m.subject]
    assert [m.to for m in warnings] == ["owner@acme.test"]
    with pytest.raises(RateLimited):
        ingest.ingest_batch(setup["token_a"], big)
    assert count_lines() == 24
    assert retention.get_org_settings(setup["acme_owner"]).used_bytes == first.bytes * 2


def test_read_authorization(setup):
    cp = line(0, stream="control-plane", component="kube-apiserver", namespace="", pod="",
              container="", message="apiserver started")  # fmt: skip
    ingest.ingest_batch(setup["token_a"], batch(line(1), cp))
    viewer = setup["acme_viewer"]
    assert len(query.search_logs(viewer, setup["a"], LogFilters()).items) == 1
    with pytest.raises(NotFound):
        query.search_logs(setup["globex_owner"], setup["a"], LogFilters())
    with pytest.raises(Forbidden):
        query.search_logs(viewer, setup["a"], LogFilters(stream="control-plane"))
    ops = query.search_logs(setup["operator"], setup["a"], LogFilters(stream="control-plane"))
    assert [x.message for x in ops.items] == ["apiserver started"]
    retention.update_org_settings(
        setup["operator"], org_id=viewer.org_id, operator_grants_control_plane=True
    )
    assert len(query.search_logs(viewer, setup["a"], LogFilters(stream="control-plane")).items)
    with pytest.raises(Invalid):
        query.search_logs(viewer, setup["a"], LogFilters(levels=("loud",), limit=0))
    with pytest.raises(Invalid):
        query.search_logs(viewer, setup["a"], LogFilters(cursor="nope"))
    line_id = query.search_logs(viewer, setup["a"], LogFilters()).items[0].id
    assert len(query.line_context(viewer, setup["a"], line_id)) == 1
    with pytest.raises(NotFound):
        query.line_context(setup["globex_owner"], setup["a"], line_id)
    with pytest.raises(NotFound):
        query.line_context(viewer, setup["b"], line_id)
    hist = query.log_histogram(
        viewer, setup["a"], LogFilters(start=NOW - timedelta(minutes=1), end=NOW + timedelta(minutes=1)), 2
    )  # fmt: skip
    assert sum(b.count for b in hist) == 1
    assert date.today()  # the clock is sane
