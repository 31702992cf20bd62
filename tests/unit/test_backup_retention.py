"""Retention: the pure GFS plan (examples and hypothesis properties) and the prune tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.backup import Backup, BackupPolicy, Restore
from mkportal.services.backup import retention
from mkportal.services.backup.retention import Item, plan
from mkportal.services.backup.storage import store_for
from tests.fakes.metrics_data import sandbox_cluster

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ZONES = ("UTC", "Europe/Zurich", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")


@dataclass
class Policy:
    keep_last: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0


def daily_backups(days: int, per_day: int = 1) -> list[Item]:
    out = []
    for d in range(days):
        for h in range(per_day):
            at = NOW - timedelta(days=d, hours=h * 6 + 1)
            out.append(Item(f"b{d:03d}{h}", "succeeded", at))
    return out


def test_last_n_only_keeps_the_newest_n():
    result = plan(daily_backups(10), Policy(keep_last=3), "UTC", NOW)
    kept = sorted(k for k, v in result.items() if v)
    assert kept == ["b0000", "b0010", "b0020"]
    assert {result[k] for k in kept} == {"last 3"}


def test_gfs_labels_each_backup_with_the_first_rule_keeping_it():
    result = plan(daily_backups(100, per_day=2), Policy(2, 7, 4, 3), "UTC", NOW)
    assert result["b0000"] == "last 2" and result["b0001"] == "last 2"
    assert [result[f"b{d:03d}0"] for d in range(1, 7)] == ["daily"] * 6
    assert result["b0071"] is None  # not the newest of its day
    # Wed 25 Nov: this week and 16-22 Nov are kept already; 9-15 and 2-8 Nov by "weekly".
    assert sorted(k for k, v in result.items() if v == "weekly") == ["b0100", "b0170"]
    # November is kept already; 31 Oct and 30 Sep by "monthly".
    assert sorted(k for k, v in result.items() if v == "monthly") == ["b0250", "b0560"]
    assert sum(1 for v in result.values() if v) == 2 + 6 + 2 + 2


def test_days_are_taken_in_the_policy_timezone():
    # 23:30 UTC on 24 Nov is already 25 Nov in Zurich: both backups fall on the same day there.
    late = Item("late", "succeeded", datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    early = Item("early", "succeeded", datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert plan([late, early], Policy(keep_daily=2), "UTC", NOW) == {
        "late": "daily",
        "early": "daily",
    }
    assert plan([late, early], Policy(keep_daily=2), "Europe/Zurich", NOW) == {
        "late": None,
        "early": "daily",
    }


def test_locked_and_failed():
    good = Item("good", "succeeded", NOW - timedelta(days=2))
    old_fail = Item("old-fail", "failed", NOW - timedelta(days=3))
    new_fail = Item("new-fail", "failed", NOW - timedelta(days=1))
    locked = Item("locked", "succeeded", NOW - timedelta(days=400), locked=True)
    running = Item("running", "running", NOW)
    result = plan([good, old_fail, new_fail, locked, running], Policy(keep_last=1), "UTC", NOW)
    assert result == {
        "good": "last 1",
        "old-fail": None,
        "new-fail": "recent failure",
        "locked": "locked",
    }


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 11, 25, 11), timezones=st.just(UTC)
)
catalogs = st.lists(
    st.tuples(
        instants, st.sampled_from(["succeeded", "succeeded", "failed", "running"]), st.booleans()
    ),
    max_size=60,
).map(
    lambda rows: [
        Item(f"b{i:03d}", status, at, locked=locked and i % 5 == 0)
        for i, (at, status, locked) in enumerate(rows)
    ]
)
policies = st.builds(
    Policy,
    st.integers(0, 10),
    st.integers(0, 40),
    st.integers(0, 12),
    st.integers(0, 24),
)


def _bucket(rule: str, day: date):
    if rule == "daily":
        return day
    if rule == "weekly":
        return day.isocalendar()[:2]
    return (day.year, day.month)


def _age(rule: str, day: date, today: date) -> int:
    if rule == "daily":
        return (today - day).days
    if rule == "weekly":
        return (
            today - timedelta(days=today.weekday()) - (day - timedelta(days=day.weekday()))
        ).days // 7
    return today.year * 12 + today.month - day.year * 12 - day.month


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(catalog=catalogs, policy=policies, zone=st.sampled_from(ZONES))
def test_plan_properties(catalog, policy, zone):
    tz = ZoneInfo(zone)
    result = plan(catalog, policy, zone, NOW)
    considered = [b for b in catalog if b.status in ("succeeded", "failed")]
    assert set(result) == {b.id for b in considered}
    good = sorted(
        (b for b in considered if b.status == "succeeded"),
        key=lambda b: (b.started_at, b.id),
        reverse=True,
    )
    today = NOW.astimezone(tz).date()
    # Locked backups are always kept.
    assert all(result[b.id] == "locked" for b in considered if b.locked)
    # The newest keep_last succeeded backups are kept.
    assert all(result[b.id] for b in good[: policy.keep_last])
    for rule, keep in (
        ("daily", policy.keep_daily),
        ("weekly", policy.keep_weekly),
        ("monthly", policy.keep_monthly),
    ):
        newest: dict = {}
        for b in good:
            newest.setdefault(_bucket(rule, b.started_at.astimezone(tz).date()), b)
        for b in newest.values():
            if _age(rule, b.started_at.astimezone(tz).date(), today) < keep:
                assert result[b.id], (rule, b)  # the newest of every period in the window is kept
    for b in considered:
        label = result[b.id]
        day = b.started_at.astimezone(tz).date()
        if label in ("daily", "weekly", "monthly"):
            keep = getattr(policy, f"keep_{label}")
            assert _age(label, day, today) < keep
            same = [
                g
                for g in good
                if _bucket(label, g.started_at.astimezone(tz).date()) == _bucket(label, day)
            ]
            assert same[0].id == b.id  # only the newest of its period
        if label and label.startswith("last"):
            assert b in good[: policy.keep_last]
        if b.status == "failed" and not b.locked and good and b.started_at < good[0].started_at:
            assert label is None  # failures older than the newest good one are dropped
    # Applying the plan again to what it keeps changes nothing (pruning is stable).
    kept = [b for b in catalog if result.get(b.id) or b.status not in ("succeeded", "failed")]
    again = plan(kept, policy, zone, NOW)
    assert again == {k: v for k, v in result.items() if v}


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(catalog=catalogs, policy=policies)
def test_keeping_more_never_prunes_more(catalog, policy):
    before = {k for k, v in plan(catalog, policy, "UTC", NOW).items() if v}
    wider = Policy(
        policy.keep_last + 1, policy.keep_daily + 1, policy.keep_weekly + 1, policy.keep_monthly + 1
    )
    after = {k for k, v in plan(catalog, wider, "UTC", NOW).items() if v}
    assert before <= after


@pytest.fixture
def catalog(two_orgs):
    org = two_orgs["acme_owner"].org_id
    cid = sandbox_cluster(org, started=NOW - timedelta(days=60))
    store = store_for(org)
    ids = []
    with session_scope() as s:
        s.add(
            BackupPolicy(
                cluster_id=cid, org_id=org, keep_last=2, keep_daily=3, keep_weekly=0, keep_monthly=0
            )
        )
        for d in range(10):
            at = NOW - timedelta(days=d, hours=1)
            row = Backup(
                org_id=org, cluster_id=cid, status="succeeded", started_at=at, finished_at=at
            )
            row.storage_key = f"{cid}/{row.id}.mkb"
            store.put(row.storage_key, b"archive")
            s.add(row)
            ids.append(row.id)
        s.add(
            Backup(org_id=org, cluster_id=cid, status="failed", started_at=NOW - timedelta(days=20))
        )
    return {"org": org, "cluster": cid, "ids": ids, "store": store}


def test_prune_tick_marks_pruned_deletes_archives_and_labels_the_rest(catalog):
    with session_scope() as s:
        s.add(Restore(org_id=catalog["org"], backup_id=catalog["ids"][8], status="running"))
        s.get(Backup, catalog["ids"][9]).locked = True
    result = retention.prune(NOW)
    assert result.pruned == 6 and result.archive_errors == 0  # 5 old succeeded + the old failure
    with session_scope() as s:
        rows = {
            b.id: b for b in s.exec(select(Backup).where(Backup.cluster_id == catalog["cluster"]))
        }
        labels = [rows[i].kept_by for i in catalog["ids"]]
        statuses = [rows[i].status for i in catalog["ids"]]
        audits = s.exec(select(AuditEvent).where(AuditEvent.action == "backup.pruned")).all()
    assert labels[:3] == ["last 2", "last 2", "daily"]
    assert labels[8:] == ["restoring", "locked"]
    assert statuses[3:8] == ["pruned"] * 5
    assert all(
        not catalog["store"].exists(f"{catalog['cluster']}/{i}.mkb") for i in catalog["ids"][3:8]
    )
    assert all(catalog["store"].exists(f"{catalog['cluster']}/{i}.mkb") for i in catalog["ids"][:3])
    assert len(audits) == 6 and all(a.org_id == catalog["org"] for a in audits)
    assert retention.prune(NOW).pruned == 0  # idempotent


def test_prune_retries_archives_it_could_not_delete(catalog, monkeypatch):
    from mkportal.services.backup import storage

    def broken(self, key):
        raise storage.StoreError("disk on fire")

    monkeypatch.setattr(storage.LocalStore, "delete", broken)
    first = retention.prune(NOW)
    assert first.pruned == 8 and first.archive_errors == 7
    monkeypatch.undo()
    second = retention.prune(NOW)
    assert second.pruned == 0 and second.archive_errors == 0
    with session_scope() as s:
        left = s.exec(
            select(Backup).where(Backup.status == "pruned", Backup.storage_key != "")
        ).all()
    assert left == []
    assert not any(
        catalog["store"].exists(f"{catalog['cluster']}/{i}.mkb") for i in catalog["ids"][3:]
    )
