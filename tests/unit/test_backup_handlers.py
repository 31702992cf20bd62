"""The Backups tab's and /settings/backups' Reflex handlers, called as a browser could call them.

Signed out, every handler redirects to /login and changes nothing. Viewers read the
catalog, schedules, retention and storage but change nothing; members back up, schedule
and restore; only owners change the storage. Another organisation sees nothing: its
handlers answer "Not found" whatever ids the browser sends.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, BackupSchedule, BackupStorage, Restore
from mkportal.models.base import utcnow
from mkportal.services.backup.restore_plan import ObjectChange
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import ClusterIn
from mkportal.state.backup_restore import BackupRestoreState, diff_rows, split_names
from mkportal.state.backup_schedules import BackupSchedulesState
from mkportal.state.backup_settings import BackupSettingsState
from mkportal.state.cluster_backups import (
    ClusterBackupsState,
    count_lines,
    human_duration,
    human_size,
)
from tests.unit.test_handlers_authz import _event_names, make_state, session_for

SCHEDULE_FORM = {"name": "nightly", "time": "02:30", "weekday": "sunday", "cron": ""}
RETENTION_FORM = {
    "keep_last": "3",
    "keep_daily": "5",
    "keep_weekly": "2",
    "keep_monthly": "1",
    "timezone": "Europe/Zurich",
    "drill_cron": "",
}
WRITE_CALLS = [
    (ClusterBackupsState, "back_up_now", ()),
    (ClusterBackupsState, "set_locked", ("{backup}", True)),
    (ClusterBackupsState, "delete_backup", ("{backup}",)),
    (BackupSchedulesState, "add_schedule", (SCHEDULE_FORM,)),
    (BackupSchedulesState, "delete_schedule", ("{schedule}",)),
    (BackupSchedulesState, "set_enabled", ("{schedule}", False)),
    (BackupSchedulesState, "save_retention", (RETENTION_FORM,)),
    (BackupSchedulesState, "run_drill", ()),
    (BackupRestoreState, "start", ("{backup}",)),
    (BackupRestoreState, "preview", ()),
    (BackupRestoreState, "confirm", ()),
]
SIGNED_OUT_CALLS = [
    *WRITE_CALLS,
    (ClusterBackupsState, "load", ()),
    (ClusterBackupsState, "show_details", ("{backup}",)),
    (ClusterBackupsState, "leave", ()),
    (BackupSchedulesState, "load", ()),
    (BackupSchedulesState, "refresh", ()),
    (BackupRestoreState, "choose_point", ("{backup}",)),
    (BackupSettingsState, "load", ()),
    (BackupSettingsState, "save", ({"bucket": "b"},)),
]


def _id(call: tuple) -> str:
    return f"{call[0].__name__}.{call[1]}"


@pytest.fixture
def acme(two_orgs) -> dict:
    """An Acme cluster with its default schedule and one succeeded, one failed backup."""
    req = ClusterIn.model_validate(
        {
            "name": "shop",
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        }
    )
    cluster, _op, _ = actions.create_cluster(two_orgs["acme_member"], req)
    org_id = two_orgs["acme_owner"].org_id
    now = utcnow()
    with session_scope() as s:
        good = Backup(
            org_id=org_id,
            cluster_id=cluster.id,
            trigger="schedule",
            status="succeeded",
            started_at=now - timedelta(hours=2),
            finished_at=now - timedelta(hours=2) + timedelta(seconds=75),
            size_bytes=48_000,
            object_count=12,
            counts={"apps/Deployment": 2, "core/ConfigMap": 7, "core/Namespace": 3},
            checksum="0" * 64,
            kept_by="last 7",
        )
        bad = Backup(
            org_id=org_id,
            cluster_id=cluster.id,
            trigger="manual",
            status="failed",
            started_at=now - timedelta(hours=1),
            finished_at=now - timedelta(hours=1),
            error="The cluster's API did not answer.",
        )
        s.add(good)
        s.add(bad)
        s.flush()
        ids = {"backup": good.id, "failed": bad.id}
    state = make_state(BackupSchedulesState, session_for("member@acme.test"))
    state.router.page.params["cluster_id"] = cluster.id
    BackupSchedulesState.load.fn(state)
    schedule = state.schedules[0]["id"] if state.schedules else ""
    return {"cluster_id": cluster.id, "org_id": org_id, "schedule": schedule, **ids, **two_orgs}


def _args(args: tuple, acme: dict) -> tuple:
    return tuple(a.format(**acme) if isinstance(a, str) else a for a in args)


def _state(cls, email: str, acme: dict):
    state = make_state(cls, session_for(email) if email else "mkp_not-a-session")
    state.router.page.params["cluster_id"] = acme["cluster_id"]
    if cls is not BackupSettingsState:
        state.cluster_id = acme["cluster_id"]
    if cls is BackupRestoreState:
        state.backup_id, state.step = acme["backup"], "preview"
    return state


def _snapshot() -> dict:
    with session_scope() as s:
        return {
            "backups": sorted((b.id, b.status, b.locked) for b in s.exec(select(Backup)).all()),
            "schedules": sorted(
                (x.id, x.enabled, x.cron) for x in s.exec(select(BackupSchedule)).all()
            ),
            "restores": len(s.exec(select(Restore)).all()),
            "storage": len(s.exec(select(BackupStorage)).all()),
        }


@pytest.mark.parametrize(
    ("cls", "handler", "args"), SIGNED_OUT_CALLS, ids=map(_id, SIGNED_OUT_CALLS)
)
def test_signed_out_clients_are_redirected_and_change_nothing(acme, cls, handler, args):
    before = _snapshot()
    state = _state(cls, "", acme)
    result = getattr(cls, handler).fn(state, *_args(args, acme))
    assert "/login" in _event_names(result)
    assert _snapshot() == before


@pytest.mark.parametrize(("cls", "handler", "args"), WRITE_CALLS, ids=map(_id, WRITE_CALLS))
def test_viewers_change_nothing(acme, cls, handler, args):
    before = _snapshot()
    state = _state(cls, "viewer@acme.test", acme)
    result = getattr(cls, handler).fn(state, *_args(args, acme))
    assert "member role" in _event_names(result)
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("cls", "handler", "args"),
    [*WRITE_CALLS, (ClusterBackupsState, "show_details", ("{backup}",))],
    ids=[*map(_id, WRITE_CALLS), "ClusterBackupsState.show_details"],
)
def test_another_org_gets_not_found_and_changes_nothing(acme, cls, handler, args):
    before = _snapshot()
    state = _state(cls, "owner@globex.test", acme)
    result = getattr(cls, handler).fn(state, *_args(args, acme))
    assert "Not found" in _event_names(result)
    assert _snapshot() == before
    assert getattr(state, "details", {}) == {}


def test_another_org_sees_nothing_on_the_tab(acme):
    state = _state(ClusterBackupsState, "owner@globex.test", acme)
    ClusterBackupsState.load.fn(state)
    assert state.missing is True and state.backups == [] and state.fresh == {}
    cards = _state(BackupSchedulesState, "owner@globex.test", acme)
    BackupSchedulesState.load.fn(cards)
    assert cards.missing is True and cards.schedules == [] and cards.retention == {}


def test_viewers_read_the_catalog_schedules_and_retention(acme):
    state = _state(ClusterBackupsState, "viewer@acme.test", acme)
    ClusterBackupsState.load.fn(state)
    assert state.missing is False and state.can_write is False
    assert [b["status"] for b in state.backups] == ["failed", "succeeded"]
    good = state.backups[1]
    assert good["size"] == "46.9 KiB" and good["duration"] == "1 min 15 s"
    assert good["summary"] == "ConfigMap 7, Namespace 3, Deployment 2"
    assert good["kept_by"] == "last 7" and good["restorable"] is True
    assert state.fresh["stale"] == "" and "1 h 58 min old (" in state.fresh["text"]
    ClusterBackupsState.show_details.fn(state, acme["backup"])
    assert state.details_open is True and state.details["counts"][0]["kind"] == "ConfigMap"
    cards = _state(BackupSchedulesState, "viewer@acme.test", acme)
    BackupSchedulesState.load.fn(cards)
    assert cards.can_write is False and cards.retention["keep_last"] == "7"
    assert [s["default"] for s in cards.schedules] == ["yes"]


def test_members_schedule_retain_and_lock(acme):
    cards = _state(BackupSchedulesState, "member@acme.test", acme)
    BackupSchedulesState.load.fn(cards)
    BackupSchedulesState.set_preset.fn(cards, "cron")
    BackupSchedulesState.add_schedule.fn(cards, {**SCHEDULE_FORM, "cron": "*/5 * * * *"})
    assert "cron" in cards.field_errors and len(cards.schedules) == 1
    BackupSchedulesState.add_schedule.fn(cards, {**SCHEDULE_FORM, "cron": "0 */6 * * *"})
    assert cards.field_errors == {} and len(cards.schedules) == 2
    BackupSchedulesState.set_preset.fn(cards, "weekly")
    BackupSchedulesState.add_schedule.fn(cards, {**SCHEDULE_FORM, "time": "03:15"})
    assert sorted(s["cron"] for s in cards.schedules)[0] == "0 */6 * * *"
    assert len(cards.schedules) == 3
    BackupSchedulesState.delete_schedule.fn(cards, acme["schedule"])
    assert acme["schedule"] not in [s["id"] for s in cards.schedules]

    BackupSchedulesState.save_retention.fn(cards, {**RETENTION_FORM, "timezone": "Mars/Olympus"})
    assert "timezone" in cards.field_errors
    zero = dict.fromkeys(("keep_last", "keep_daily", "keep_weekly", "keep_monthly"), "0")
    BackupSchedulesState.save_retention.fn(cards, {**RETENTION_FORM, **zero})
    assert "retention" in cards.field_errors
    BackupSchedulesState.save_retention.fn(cards, RETENTION_FORM)
    assert cards.field_errors == {} and cards.retention["timezone"] == "Europe/Zurich"
    assert cards.retention["keep_last"] == "3"

    state = _state(ClusterBackupsState, "member@acme.test", acme)
    ClusterBackupsState.load.fn(state)
    assert state.can_write is True
    ClusterBackupsState.set_locked.fn(state, acme["backup"], True)
    assert state.backups[1]["locked"] is True
    result = ClusterBackupsState.delete_backup.fn(state, acme["backup"])
    assert "locked" in _event_names(result).lower()
    ClusterBackupsState.delete_backup.fn(state, acme["failed"])
    assert [b["id"] for b in state.backups] == [acme["backup"]]


def test_only_owners_change_the_storage(acme):
    member = make_state(BackupSettingsState, session_for("member@acme.test"))
    BackupSettingsState.load.fn(member)
    assert member.can_manage is False and member.current["kind"] == "local"
    BackupSettingsState.set_kind.fn(member, "s3")
    result = BackupSettingsState.save.fn(member, {"bucket": "acme-backups"})
    assert "owner role" in _event_names(result)
    owner = make_state(BackupSettingsState, session_for("owner@acme.test"))
    BackupSettingsState.load.fn(owner)
    assert owner.can_manage is True
    BackupSettingsState.set_kind.fn(owner, "s3")
    BackupSettingsState.save.fn(owner, {"bucket": "Bad Bucket", "region": "eu-central-1"})
    assert "bucket" in owner.field_errors and owner.current["kind"] == "local"
    BackupSettingsState.set_kind.fn(owner, "local")
    BackupSettingsState.save.fn(owner, {})
    assert owner.field_errors == {} and owner.current["updated_by"] == "owner@acme.test"
    globex = make_state(BackupSettingsState, session_for("owner@globex.test"))
    BackupSettingsState.load.fn(globex)
    assert globex.current["updated_by"] == "–"


def test_formatting_helpers():
    assert human_size(512) == "512 B" and human_size(3 * 1024 * 1024) == "3.0 MiB"
    assert human_duration(4) == "4 s" and human_duration(3725) == "1 h 2 min"
    assert count_lines({"core/Secret": 1, "example.com/Widget": 4}) == [
        {"kind": "Widget", "group": "example.com", "count": "4"},
        {"kind": "Secret", "group": "core", "count": "1"},
    ]
    assert split_names("shop, payments  web") == ["shop", "payments", "web"]
    changes = [
        ObjectChange("unchanged", "v1", "ConfigMap", "shop", "a"),
        ObjectChange("create", "apps/v1", "Deployment", "shop", "web"),
        ObjectChange("update", "v1", "ConfigMap", "shop", "b", fields=["data"]),
        ObjectChange("blocked", "x/v9", "Gadget", "", "g", reason="not served"),
    ]
    assert [(r["action"], r["detail"]) for r in diff_rows(changes)] == [
        ("blocked", "not served"),
        ("update", "data"),
        ("create", ""),
        ("unchanged", ""),
    ]
    assert diff_rows(changes)[0]["namespace"] == "–"
