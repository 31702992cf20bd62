"""The log browser's Reflex handlers called directly, as a browser could call them.

Signed out, every handler redirects to /login and changes nothing. A user of another
organisation gets "Not found" and sees none of the lines; only operators use /admin/logs.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from mkportal.db import get_engine, session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import ClusterIn
from mkportal.services.logs import retention
from mkportal.services.logs.export import as_json_lines, as_text
from mkportal.services.logs.store import NewLine, get_store, to_micros
from mkportal.state.admin_logs import AdminLogsState
from mkportal.state.cluster_logs import (
    TAIL_CAP,
    ClusterLogsState,
    audit_fields,
    message_parts,
)
from tests.unit.test_handlers_authz import _event_names, make_state, session_for

SEARCH_FORM = {"namespace": "", "pod": "", "container": "", "level": "all", "text": ""}

BROWSER_CALLS = [
    ("search", (SEARCH_FORM,)),
    ("set_range", ("24h",)),
    ("load_older", ()),
    ("show_context", ("1",)),
    ("set_context_open", (False,)),
    ("download", ("jsonl",)),
]
SIGNED_OUT_CALLS = [
    *[(ClusterLogsState, name, args) for name, args in BROWSER_CALLS],
    *[(AdminLogsState, name, args) for name, args in BROWSER_CALLS],
    (ClusterLogsState, "load", ()),
    (ClusterLogsState, "set_tab", ("logs",)),
    (ClusterLogsState, "set_stream", ("control-plane",)),
    (ClusterLogsState, "leave", ()),
    (ClusterLogsState, "enable_collection", ({"namespaces": "shop"},)),
    (ClusterLogsState, "disable_collection", ()),
    (ClusterLogsState, "save_retention", ({"retention_days": "30"},)),
    (ClusterLogsState, "start_tail", ()),
    (ClusterLogsState, "stop_tail", ()),
    (AdminLogsState, "load", ()),
    (AdminLogsState, "choose_org", ("x",)),
    (AdminLogsState, "choose_cluster", ("x",)),
    (AdminLogsState, "save_cp_retention", ({"cp_retention_days": "3"},)),
    (AdminLogsState, "set_grant", (True,)),
]


def _cluster(actor, name: str) -> str:
    req = ClusterIn.model_validate(
        {
            "name": name,
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        }
    )
    cluster, _op, _ = actions.create_cluster(actor, req)
    return cluster.id


def _line(org_id: str, cluster_id: str, minutes_ago: float, message: str, **kw) -> NewLine:
    ts = utcnow() - timedelta(minutes=minutes_ago)
    return NewLine(
        org_id=org_id,
        cluster_id=cluster_id,
        ts=to_micros(ts),
        stream=kw.pop("stream", "app"),
        level=kw.pop("level", "info"),
        message=message,
        expires_on=ts.date() + timedelta(days=7),
        **kw,
    )


@pytest.fixture
def acme(two_orgs) -> dict:
    """An Acme cluster with 150 app lines, a secret line, and control-plane audit lines."""
    org_id = two_orgs["acme_owner"].org_id
    cluster_id = _cluster(two_orgs["acme_member"], "shop")
    lines = [
        _line(
            org_id,
            cluster_id,
            30 - i * 0.1,
            f"GET /item/{i} 200",
            namespace="shop",
            pod="web-1",
            container="web",
        )
        for i in range(150)
    ]
    lines.append(
        _line(
            org_id,
            cluster_id,
            1,
            "payment gateway timeout for order 42",
            level="error",
            namespace="shop",
            pod="web-1",
            container="web",
        )
    )
    lines.append(
        _line(
            org_id,
            cluster_id,
            2,
            "audit: get secrets/db",
            stream="control-plane",
            component="audit",
            attrs={
                "verb": "get",
                "user": {"username": "system:admin"},
                "objectRef": {"resource": "secrets", "namespace": "shop", "name": "db"},
                "responseStatus": {"code": 200},
            },
        )
    )
    lines.append(
        _line(
            org_id,
            cluster_id,
            3,
            "leader election won",
            stream="control-plane",
            component="kube-scheduler",
        )
    )
    get_store().insert(lines)
    return {"org_id": org_id, "cluster_id": cluster_id, **two_orgs}


def _cp_days(acme: dict) -> int:
    info = retention.get_cluster_settings(acme["operator"], acme["cluster_id"])
    return info.control_plane_retention_days


def _messages(lines: list[dict]) -> list[str]:
    return ["".join(p["t"] for p in ln["parts"]) for ln in lines]


def _log_lines() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM log_line")).scalar_one()


@pytest.mark.parametrize(("cls", "handler", "args"), SIGNED_OUT_CALLS)
def test_signed_out_clients_are_redirected_and_change_nothing(acme, cls, handler, args):
    state = make_state(cls, "mkp_not-a-session")
    state.cluster_id = acme["cluster_id"]
    if cls is AdminLogsState:
        state.org_id = acme["org_id"]
        state.org_options = [{"value": acme["org_id"], "label": "Acme"}]
        state.cluster_options = [{"value": acme["cluster_id"], "label": "shop"}]
    result = getattr(cls, handler).fn(state, *args)
    assert "/login" in _event_names(result)
    assert state.lines == [] and state.context_lines == []
    settings = retention.get_org_settings(acme["operator"], acme["org_id"])
    assert settings.app_retention_days == 7
    assert settings.operator_grants_control_plane is False
    assert _cp_days(acme) == 14
    assert _log_lines() == 153


def test_the_owner_searches_highlights_pages_and_downloads(acme, monkeypatch):
    state = make_state(ClusterLogsState, session_for("owner@acme.test"))
    state.router.page.params["cluster_id"] = acme["cluster_id"]
    ClusterLogsState.load.fn(state)
    assert state.missing is False
    assert state.collection["enabled"] == ""
    assert state.retention_days == "7" and state.can_set_retention is True
    assert len(state.lines) == 100 and state.has_older is True
    assert _messages(state.lines)[0] == "payment gateway timeout for order 42"
    assert "audit" not in " ".join(_messages(state.lines))
    assert state.histogram_total == "151 matching lines in the range."

    ClusterLogsState.load_older.fn(state)
    assert len(state.lines) == 151 and state.has_older is False

    ClusterLogsState.search.fn(state, {**SEARCH_FORM, "text": "Timeout gateway"})
    assert _messages(state.lines) == ["payment gateway timeout for order 42"]
    hits = [p["t"] for p in state.lines[0]["parts"] if p["h"]]
    assert hits == ["gateway", "timeout"]

    ClusterLogsState.search.fn(state, {**SEARCH_FORM, "level": "error", "pod": "web-1"})
    assert len(state.lines) == 1
    ClusterLogsState.search.fn(state, {**SEARCH_FORM, "namespace": "other"})
    assert state.lines == []

    ClusterLogsState.search.fn(state, SEARCH_FORM)
    line_id = state.lines[5]["id"]
    ClusterLogsState.show_context.fn(state, line_id)
    assert state.context_open is True and state.context_for == line_id
    assert len(state.context_lines) == 15 + 1 + 5  # five newer lines exist
    assert line_id in [ln["id"] for ln in state.context_lines]

    sent: list = []
    monkeypatch.setattr(
        "mkportal.state.cluster_logs.as_json_lines", lambda rs: sent.append(rs) or "x"
    )
    result = ClusterLogsState.download.fn(state, "jsonl")
    body = _event_names(result)
    assert "download" in body and ".jsonl" in body
    assert len(sent[0]) == 151  # the whole result, not only the 100 lines shown
    records = [json.loads(x) for x in as_json_lines(state._records).splitlines()]
    assert len(records) == 100 and records[-1]["message"].startswith("payment gateway")

    ClusterLogsState.set_range.fn(state, "custom")
    assert state.range_preset == "custom" and state.custom_start < state.custom_end
    ClusterLogsState.search.fn(state, {**SEARCH_FORM, "start": "x", "end": ""})
    assert state.lines == []


def test_retention_is_for_owners_and_bounded(acme):
    member = make_state(ClusterLogsState, session_for("member@acme.test"))
    member.router.page.params["cluster_id"] = acme["cluster_id"]
    ClusterLogsState.load.fn(member)
    assert member.can_set_retention is False and member.can_collect is True
    ClusterLogsState.enable_collection.fn(member, {"namespaces": "shop, Bad_Name"})
    assert "not a namespace name" in member.field_errors["namespaces"]
    assert member.collection["enabled"] == ""
    result = ClusterLogsState.save_retention.fn(member, {"retention_days": "30"})
    assert "owner role" in _event_names(result)
    owner = make_state(ClusterLogsState, session_for("owner@acme.test"))
    ClusterLogsState.save_retention.fn(owner, {"retention_days": "91"})
    assert "app_retention_days" in owner.field_errors
    ClusterLogsState.save_retention.fn(owner, {"retention_days": "30"})
    assert owner.retention_days == "30"
    assert retention.get_org_settings(acme["operator"], acme["org_id"]).app_retention_days == 30


def test_viewers_read_logs_but_cannot_turn_collection_on_or_off(acme):
    viewer = make_state(ClusterLogsState, session_for("viewer@acme.test"))
    viewer.router.page.params["cluster_id"] = acme["cluster_id"]
    ClusterLogsState.load.fn(viewer)
    assert viewer.can_collect is False and len(viewer.lines) == 100
    for handler, args in [("enable_collection", ({"namespaces": ""},)), ("disable_collection", ())]:
        result = getattr(ClusterLogsState, handler).fn(viewer, *args)
        assert "member role" in _event_names(result)
    assert viewer.collection["enabled"] == ""


def test_live_tail_appends_new_lines_and_is_capped(acme):
    state = make_state(ClusterLogsState, session_for("member@acme.test"))
    state.router.page.params["cluster_id"] = acme["cluster_id"]
    ClusterLogsState.load.fn(state)
    result = ClusterLogsState.start_tail.fn(state)
    assert "watch" in _event_names(result) and state.tailing is True
    busy = state._apply(state._fetch(state.session_token, state.live_key))
    assert busy is True
    assert _messages(state.tail_lines)[-1] == "payment gateway timeout for order 42"
    assert len(state.tail_lines) == 151
    get_store().insert([_line(acme["org_id"], acme["cluster_id"], 0, "fresh line arrives")])
    state._apply(state._fetch(state.session_token, state.live_key))
    assert _messages(state.tail_lines)[-1] == "fresh line arrives"
    assert len(state.tail_lines) == 152
    state._apply(state._fetch(state.session_token, state.live_key))
    assert len(state.tail_lines) == 152
    state.tail_lines = state.tail_lines * 4
    get_store().insert([_line(acme["org_id"], acme["cluster_id"], 0, "one more")])
    state._apply(state._fetch(state.session_token, state.live_key))
    assert len(state.tail_lines) == TAIL_CAP
    ClusterLogsState.stop_tail.fn(state)
    assert state.tailing is False and state.live_key == ""
    assert state._apply([]) is False


def test_control_plane_logs_need_an_operators_grant(acme):
    state = make_state(ClusterLogsState, session_for("member@acme.test"))
    state.router.page.params["cluster_id"] = acme["cluster_id"]
    ClusterLogsState.load.fn(state)
    assert state.cp_allowed is False
    result = ClusterLogsState.set_stream.fn(state, "control-plane")
    assert "Control-plane logs are available to operators" in _event_names(result)
    assert state.stream == "app" and "audit" not in " ".join(_messages(state.lines))
    retention.update_org_settings(
        acme["operator"], org_id=acme["org_id"], operator_grants_control_plane=True
    )
    ClusterLogsState.load.fn(state)
    assert state.cp_allowed is True
    ClusterLogsState.set_stream.fn(state, "control-plane")
    assert state.stream == "control-plane"
    assert sorted(_messages(state.lines)) == ["audit: get secrets/db", "leader election won"]
    globex = make_state(ClusterLogsState, session_for("owner@globex.test"))
    globex.cluster_id = acme["cluster_id"]
    assert "Not found" in _event_names(ClusterLogsState.set_stream.fn(globex, "control-plane"))
    assert globex.lines == []


def test_another_orgs_cluster_logs_are_not_found(acme):
    state = make_state(ClusterLogsState, session_for("owner@globex.test"))
    state.router.page.params["cluster_id"] = acme["cluster_id"]
    ClusterLogsState.load.fn(state)
    assert state.missing is True and state.cluster_id == "" and state.lines == []
    # Even with the cluster id forced into the state, nothing of Acme's shows.
    state.cluster_id = acme["cluster_id"]
    for handler, args in [
        ("search", (SEARCH_FORM,)),
        ("show_context", ("1",)),
        ("start_tail", ()),
        ("enable_collection", ({"namespaces": ""},)),
        ("disable_collection", ()),
    ]:
        result = getattr(ClusterLogsState, handler).fn(state, *args)
        assert "Not found" in _event_names(result), handler
    assert state.lines == [] and state.context_lines == [] and state.tailing is False
    state._records = [{"message": "x"}]
    assert "Not found" in _event_names(ClusterLogsState.download.fn(state, "text"))
    # Globex's owner changes Globex's retention, never Acme's.
    ClusterLogsState.save_retention.fn(state, {"retention_days": "3"})
    assert retention.get_org_settings(acme["operator"], acme["org_id"]).app_retention_days == 7
    with pytest.raises(Exception, match="Not found"):
        state._fetch(state.session_token, f"{acme['cluster_id']}:1")


def test_admin_logs_are_operator_only(acme):
    for email in ("owner@acme.test", "owner@globex.test"):
        state = make_state(AdminLogsState, session_for(email))
        assert "Not found" in _event_names(AdminLogsState.load.fn(state))
        assert state.org_options == []
        state.org_options = [{"value": acme["org_id"], "label": "Acme"}]
        state.cluster_options = [{"value": acme["cluster_id"], "label": "shop"}]
        state.org_id, state.cluster_id = acme["org_id"], acme["cluster_id"]
        for handler, args in [
            ("choose_org", (acme["org_id"],)),
            ("choose_cluster", (acme["cluster_id"],)),
            ("save_cp_retention", ({"cp_retention_days": "3"},)),
            ("set_grant", (True,)),
            ("search", (SEARCH_FORM,)),
        ]:
            result = getattr(AdminLogsState, handler).fn(state, *args)
            assert "Not found" in _event_names(result) or "Control-plane" in _event_names(result), (
                email,
                handler,
            )
        assert state.lines == []
    settings = retention.get_org_settings(acme["operator"], acme["org_id"])
    assert settings.operator_grants_control_plane is False
    assert _cp_days(acme) == 14


def test_operator_reads_audit_events_and_sets_retention_and_grant(acme):
    state = make_state(AdminLogsState, session_for("ops@vshn.test"))
    AdminLogsState.load.fn(state)
    assert acme["org_id"] in [o["value"] for o in state.org_options]
    AdminLogsState.choose_org.fn(state, acme["org_id"])
    assert state.cluster_id == acme["cluster_id"] and state.cp_retention_days == "14"
    assert sorted(_messages(state.lines)) == ["audit: get secrets/db", "leader election won"]
    AdminLogsState.search.fn(state, {**SEARCH_FORM, "component": "audit"})
    assert state.audit_mode is True
    (event,) = state.lines
    assert {k: event[k] for k in ("verb", "user", "resource", "audit_namespace", "status")} == {
        "verb": "get",
        "user": "system:admin",
        "resource": "secrets/db",
        "audit_namespace": "shop",
        "status": "200",
    }
    AdminLogsState.save_cp_retention.fn(state, {"cp_retention_days": "30"})
    assert state.cp_retention_days == "30"
    AdminLogsState.save_cp_retention.fn(state, {"cp_retention_days": "0"})
    assert state.cp_retention_days == "30"
    AdminLogsState.set_grant.fn(state, True)
    assert state.org_granted is True
    assert retention.get_org_settings(
        acme["operator"], acme["org_id"]
    ).operator_grants_control_plane


def test_message_parts_and_audit_fields():
    assert message_parts("a timeout b", [(2, 9)]) == [
        {"t": "a ", "h": ""},
        {"t": "timeout", "h": "1"},
        {"t": " b", "h": ""},
    ]
    assert message_parts("", []) == [{"t": "", "h": ""}]
    record = {"ts": "2026-11-24T10:00:00+00:00", "level": "warn", "namespace": "shop"}
    record.update({"pod": "web-1", "container": "web", "component": "", "message": "slow"})
    assert as_text([record]) == "2026-11-24T10:00:00+00:00 WARN  shop/web-1/web slow\n"
    assert audit_fields({"verb": "list", "user": "bob", "resource": "pods", "status": 403}) == {
        "verb": "list",
        "user": "bob",
        "resource": "pods",
        "audit_namespace": "",
        "status": "403",
    }


def test_operator_is_told_when_a_cluster_was_deleted(acme):
    with session_scope() as s:
        row = s.get(Cluster, acme["cluster_id"])
        row.deleted_at = utcnow()
        s.add(row)
    state = make_state(AdminLogsState, session_for("ops@vshn.test"))
    AdminLogsState.load.fn(state)
    AdminLogsState.choose_org.fn(state, acme["org_id"])
    assert state.cluster_id == "" and state.lines == []
    result = AdminLogsState.choose_cluster.fn(state, acme["cluster_id"])
    assert "was deleted" in _event_names(result)
    assert state.cluster_id == "" and state.lines == []


def test_quota_use_and_warning_are_shown(two_orgs):
    org = two_orgs["acme_owner"].org_id
    retention.update_org_settings(two_orgs["operator"], org_id=org, quota_bytes=1048576)
    with session_scope() as s:
        s.exec(
            text("INSERT INTO log_usage (org_id, day, bytes, lines) VALUES (:o, :d, 2000000, 1)"),
            params={"o": org, "d": utcnow().date()},
        )
    state = make_state(ClusterLogsState, session_for("viewer@acme.test"))
    state._show_retention(two_orgs["acme_viewer"])
    assert state.quota_reached is True and "quota" in state.quota_used
