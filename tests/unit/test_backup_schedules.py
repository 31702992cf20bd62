"""Backup schedules and policy: presets, validation, roles, isolation, and the tick (DST)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.backup import Backup, BackupPolicy, BackupSchedule
from mkportal.models.cluster import Cluster
from mkportal.services.actor import Actor
from mkportal.services.backup import backups, policy, schedules
from mkportal.services.errors import Conflict, Forbidden, Invalid, NotFound
from mkportal.worker import tick
from mkportal.worker.registry import kind_names
from tests.fakes.metrics_data import sandbox_cluster

T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def env(two_orgs) -> dict:
    org = two_orgs["acme_owner"].org_id
    cid = sandbox_cluster(org, started=T0 - timedelta(days=30))
    with session_scope() as s:
        s.get(Cluster, cid).credentials_enc = "set"
    return {"cluster": cid, "org": org, **two_orgs}


@dataclass
class Started:
    id: str


@pytest.fixture
def calls(monkeypatch) -> list[tuple]:
    """Replace back_up_now with a recorder (idempotent per key, like the real one)."""
    seen: list[tuple] = []

    def fake(actor, cluster_id, *, trigger="manual", schedule_id="", idempotency_key=None):
        assert trigger == "schedule" and actor.org_id is not None
        if idempotency_key not in [c[2] for c in seen]:
            seen.append((cluster_id, schedule_id, idempotency_key))
        return Started(idempotency_key)

    monkeypatch.setattr(backups, "back_up_now", fake)
    return seen


def test_every_live_cluster_gets_a_default_daily_schedule_once(env):
    gone = sandbox_cluster(env["org"], name="gone")
    with session_scope() as s:
        s.get(Cluster, gone).deleted_at = T0
    assert schedules.ensure_defaults(T0) == 1
    assert schedules.ensure_defaults(T0) == 0
    (default,) = schedules.list_schedules(env["acme_viewer"], env["cluster"])
    assert default.is_default and default.preset == "daily" and default.enabled
    assert default.description.startswith("Daily at 0") and default.description.endswith("(UTC)")
    assert T0 < default.next_run_at <= T0 + timedelta(days=1)
    schedules.delete_schedule(env["acme_member"], default.id)
    schedules.ensure_defaults(T0)
    assert schedules.list_schedules(env["acme_viewer"], env["cluster"]) == []  # stays deleted
    assert schedules.list_schedules(env["acme_viewer"], gone) == []
    with session_scope() as s:
        assert s.get(BackupPolicy, gone) is None


def test_presets_expand_and_run_in_the_policy_timezone(env):
    member, cid = env["acme_member"], env["cluster"]
    policy.set_policy(member, cid, {"timezone": "Europe/Zurich"}, now=T0)
    hourly = schedules.create_schedule(
        member, cid, {"name": "Hourly", "preset": "hourly", "minute": 5}, now=T0
    )
    daily = schedules.create_schedule(
        member, cid, {"name": "Nightly", "preset": "daily", "time": "02:30"}, now=T0
    )
    weekly = schedules.create_schedule(
        member,
        cid,
        {"name": "Sunday", "preset": "weekly", "weekday": "sunday", "time": "04:00"},
        now=T0,
    )
    cron = schedules.create_schedule(
        member, cid, {"name": "Twice", "preset": "cron", "cron": "0 6,18 * * 1-5"}, now=T0
    )
    assert [hourly.cron, daily.cron, weekly.cron, cron.cron] == [
        "5 * * * *",
        "30 2 * * *",
        "0 4 * * 0",
        "0 6,18 * * 1-5",
    ]
    assert hourly.description == "Hourly at minute 5"
    assert daily.description == "Daily at 02:30 (Europe/Zurich)"
    assert weekly.description == "Weekly on Sunday at 04:00 (Europe/Zurich)"
    assert cron.description == "Cron 0 6,18 * * 1-5 (Europe/Zurich)"
    assert hourly.next_run_at == utc(2026, 3, 27, 12, 5)
    assert daily.next_run_at == utc(2026, 3, 28, 1, 30)  # 02:30 CET
    assert weekly.next_run_at == utc(2026, 3, 29, 2, 0)  # 04:00 CEST, after the change
    assert cron.next_run_at == utc(2026, 3, 27, 17, 0)
    moved = schedules.update_schedule(member, daily.id, {"time": "03:15"}, now=T0)
    assert moved.cron == "15 3 * * *" and moved.next_run_at == utc(2026, 3, 28, 2, 15)
    off = schedules.update_schedule(member, daily.id, {"enabled": False}, now=T0)
    assert off.next_run_at is None
    assert (
        schedules.update_schedule(member, daily.id, {"enabled": True}, now=T0).next_run_at
        == moved.next_run_at
    )
    policy.set_policy(member, cid, {"timezone": "America/New_York"}, now=T0)
    again = {v.id: v for v in schedules.list_schedules(member, cid)}
    assert again[daily.id].next_run_at == utc(2026, 3, 28, 7, 15)  # 03:15 EDT


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "preset": "monthly"}, "preset"),
        ({"name": "x", "preset": "daily", "time": "25:00"}, "time"),
        ({"name": "x", "preset": "daily"}, "time"),
        ({"name": "x", "preset": "hourly", "minute": 60}, "minute"),
        ({"name": "x", "preset": "weekly", "weekday": "funday", "time": "01:00"}, "weekday"),
        ({"name": "x", "preset": "cron", "cron": "*/5 * * * *"}, "cron"),
        ({"name": "x", "preset": "cron", "cron": "not cron"}, "cron"),
        ({"name": "", "preset": "daily", "time": "01:00"}, "name"),
        ({"name": "x", "preset": "daily", "time": "01:00", "color": "red"}, "color"),
    ],
    ids=[
        "preset",
        "time-range",
        "time-missing",
        "minute",
        "weekday",
        "too-often",
        "garbage",
        "name",
        "unknown",
    ],
)
def test_bad_schedules_are_refused_per_field(data, field):
    # Checked before any database access.
    with pytest.raises(Invalid) as err:
        schedules.create_schedule(Actor.system(), "no-cluster", data, now=T0)
    assert field in err.value.errors


def test_roles_and_other_organisations(env):
    cid = env["cluster"]
    made = schedules.create_schedule(
        env["acme_owner"], cid, {"name": "n", "preset": "daily", "time": "01:00"}
    )
    with pytest.raises(Forbidden):
        schedules.create_schedule(
            env["acme_viewer"], cid, {"name": "n", "preset": "daily", "time": "01:00"}
        )
    with pytest.raises(Forbidden):
        schedules.update_schedule(env["acme_viewer"], made.id, {"enabled": False})
    with pytest.raises(Forbidden):
        policy.set_policy(env["acme_viewer"], cid, {"keep_last": 3})
    globex = env["globex_owner"]
    for attempt in (
        lambda: schedules.list_schedules(globex, cid),
        lambda: schedules.create_schedule(
            globex, cid, {"name": "n", "preset": "daily", "time": "01:00"}
        ),
        lambda: schedules.update_schedule(globex, made.id, {"enabled": False}),
        lambda: schedules.delete_schedule(globex, made.id),
        lambda: policy.get_policy(globex, cid),
        lambda: policy.set_policy(globex, cid, {"keep_last": 1}),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert policy.get_policy(env["operator"], cid).cluster_id == cid
    schedules.delete_schedule(env["acme_member"], made.id)
    with session_scope() as s:
        actions = {
            a.action for a in s.exec(select(AuditEvent).where(AuditEvent.target_id == made.id))
        }
    assert actions == {"backup.schedule_created", "backup.schedule_deleted"}


def test_at_most_ten_schedules(env):
    for i in range(9):  # plus the default one
        schedules.create_schedule(
            env["acme_member"], env["cluster"], {"name": f"s{i}", "preset": "hourly"}
        )
    with pytest.raises(Conflict):
        schedules.create_schedule(
            env["acme_member"], env["cluster"], {"name": "more", "preset": "hourly"}
        )


def test_policy_validation_and_zero_retention(env):
    member, cid = env["acme_member"], env["cluster"]
    assert policy.get_policy(env["acme_viewer"], cid).keep_last == 7
    for data, field in (
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"keep_last": -1}, "keep_last"),
        ({"keep_daily": "7"}, "keep_daily"),
        ({"keep_monthly": True}, "keep_monthly"),
        ({"drill_cron": "*/30 * * * *"}, "drill_cron"),
        ({"colour": 1}, "colour"),
    ):
        with pytest.raises(Invalid) as err:
            policy.set_policy(member, cid, data)
        assert field in err.value.errors
    zero = {"keep_last": 0, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}
    with pytest.raises(Invalid) as err:
        policy.set_policy(member, cid, zero)
    assert "keep no backup" in err.value.errors["retention"]
    with session_scope() as s:
        s.add(Backup(org_id=env["org"], cluster_id=cid, status="succeeded", locked=True))
    view = policy.set_policy(member, cid, {**zero, "drill_cron": "0 4 * * 0"}, now=T0)
    assert view.keep_last == 0 and view.drill_next_at == utc(2026, 3, 29, 4)
    assert view.updated_by == member.email


def _walk(start: datetime, end: datetime, step: timedelta):
    now = start
    while now <= end:
        yield now
        now += step


def test_tick_starts_each_due_backup_once_across_spring_dst(env, calls):
    member, cid = env["acme_member"], env["cluster"]
    policy.set_policy(member, cid, {"timezone": "Europe/Zurich"}, now=T0)
    (default,) = schedules.list_schedules(member, cid)
    schedules.delete_schedule(member, default.id)
    sched = schedules.create_schedule(
        member, cid, {"name": "n", "preset": "daily", "time": "02:30"}, now=T0
    )
    for now in _walk(T0, utc(2026, 3, 31, 12), timedelta(minutes=10)):
        schedules.run_due(now)
        schedules.run_due(now)  # a second tick at the same moment starts nothing more
    keys = [key for _c, _s, key in calls]
    assert keys == [
        f"backup-schedule:{sched.id}:20260328T013000Z",
        f"backup-schedule:{sched.id}:20260329T013000Z",  # 02:30 did not exist: 03:30 CEST
        f"backup-schedule:{sched.id}:20260330T003000Z",
        f"backup-schedule:{sched.id}:20260331T003000Z",
    ]
    with session_scope() as s:
        row = s.get(BackupSchedule, sched.id)
    assert row.next_run_at == utc(2026, 4, 1, 0, 30)


def test_hourly_runs_25_times_on_the_autumn_change_day(env, calls):
    member, cid = env["acme_member"], env["cluster"]
    start = utc(2026, 11, 1, 3, 30)
    policy.set_policy(member, cid, {"timezone": "America/New_York"}, now=start)
    (default,) = schedules.list_schedules(member, cid)
    schedules.update_schedule(member, default.id, {"enabled": False}, now=start)
    schedules.create_schedule(
        member, cid, {"name": "h", "preset": "hourly", "minute": 0}, now=start
    )
    for now in _walk(start, utc(2026, 11, 2, 4, 30), timedelta(minutes=15)):
        schedules.run_due(now)
    assert len(calls) == 25  # local midnight to midnight on 1 November is 25 hours


def test_missed_runs_are_caught_up_by_one_backup(env, calls):
    member, cid = env["acme_member"], env["cluster"]
    schedules.ensure_defaults(T0)
    later = T0 + timedelta(days=3, hours=1)
    assert len(schedules.run_due(later)) == 1
    (default,) = schedules.list_schedules(member, cid)
    assert later < default.next_run_at <= later + timedelta(days=1)
    assert default.last_run_at == later


def test_tick_waits_for_provisioning_and_skips_refused_runs(env, monkeypatch):
    schedules.ensure_defaults(T0)
    later = T0 + timedelta(days=1)
    with session_scope() as s:
        s.get(Cluster, env["cluster"]).status = "provisioning"
    assert schedules.run_due(later) == []
    (default,) = schedules.list_schedules(env["acme_member"], env["cluster"])
    assert default.next_run_at < later  # still due
    with session_scope() as s:
        cluster = s.get(Cluster, env["cluster"])
        cluster.status, cluster.credentials_enc = "failed", ""
    assert schedules.run_due(later) == []
    (default,) = schedules.list_schedules(env["acme_member"], env["cluster"])
    assert default.next_run_at > later
    with session_scope() as s:
        skipped = s.exec(
            select(AuditEvent).where(AuditEvent.action == "backup.schedule_skipped")
        ).one()
    assert skipped.org_id == env["org"] and "running" in skipped.detail["reason"]


def test_real_backups_are_started_exactly_once_even_after_a_crash(env, monkeypatch):
    schedules.ensure_defaults(T0)
    later = T0 + timedelta(days=1)

    def crash(*_args):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(schedules, "_claim", crash)
    assert schedules.run_due(later) == []  # the backup was requested, next_run_at not moved
    monkeypatch.undo()
    started = schedules.run_due(later)
    assert schedules.run_due(later) == []
    with session_scope() as s:
        rows = s.exec(select(Backup).where(Backup.cluster_id == env["cluster"])).all()
    assert [r.id for r in rows] == started
    assert rows[0].trigger == "schedule" and rows[0].schedule_id


def test_ticks_are_registered():
    kind_names()
    assert {"backup.schedules", "backup.prune"} <= set(tick._HOOKS)
