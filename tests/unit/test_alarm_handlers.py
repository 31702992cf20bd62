"""The alarms page, bell and metrics-collection card handlers, called as a browser could.

Signed out, every handler redirects to /login and changes nothing; another organisation's
alarm ids get "Not found"; viewers cannot change alarms.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.metrics import Alarm
from mkportal.services import notifications
from mkportal.services.metrics import alarms, prom
from mkportal.state.alarms import AlarmsState, alarm_values
from mkportal.state.metrics_collection import MetricsCollectionState
from mkportal.state.notifications import NotificationsState
from tests.unit.test_alarms import _cluster
from tests.unit.test_handlers_authz import _event_names, make_state, session_for

FORM = {
    "name": "Errors",
    "cluster_id": "all",
    "query": "sum(rate(http_requests_total[5m]))",
    "comparator": ">",
    "threshold": "5",
    "for_seconds": "0",
    "severity": "critical",
    "in_app": "on",
    "email": "on",
    "emails": "a@acme.test, b@acme.test",
    "enabled": "on",
}

SIGNED_OUT_CALLS = [
    (AlarmsState, "load", ()),
    (AlarmsState, "new_alarm", ()),
    (AlarmsState, "edit_alarm", ("x",)),
    (AlarmsState, "save", (FORM,)),
    (AlarmsState, "run_preview", ()),
    (AlarmsState, "toggle", ("x", False)),
    (AlarmsState, "delete_alarm", ("x",)),
    (AlarmsState, "show_history", ("x",)),
    (AlarmsState, "history_step", (1,)),
    (NotificationsState, "load", ()),
    (NotificationsState, "mark_all_read", ()),
    (NotificationsState, "open_notice", ("x", "/alarms")),
    (MetricsCollectionState, "load", ()),
    (MetricsCollectionState, "enable", ({"namespaces": ""},)),
    (MetricsCollectionState, "disable", ()),
]


@pytest.mark.parametrize(
    ("cls", "handler", "args"),
    SIGNED_OUT_CALLS,
    ids=[f"{c.__name__}.{h}" for c, h, _a in SIGNED_OUT_CALLS],
)
def test_signed_out_clients_are_redirected(two_orgs, cls, handler, args):
    made = alarms.create(two_orgs["acme_member"], alarm_values(FORM))
    state = make_state(cls, "mks_not-a-session")
    call_args = tuple(made.id if a == "x" else a for a in args)
    result = getattr(cls, handler).fn(state, *call_args)
    assert "/login" in _event_names(result)
    with session_scope() as s:
        assert s.get(Alarm, made.id).enabled


def test_form_values():
    values = alarm_values(FORM)
    assert values["cluster_id"] == "" and values["channels"] == ["email", "in_app"]
    assert values["emails"] == ["a@acme.test", "b@acme.test"] and values["enabled"] is True


def test_member_creates_edits_previews_and_deletes(two_orgs, monkeypatch):
    web = _cluster(two_orgs["acme_member"].org_id, "web")
    state = make_state(AlarmsState, session_for("member@acme.test"))
    AlarmsState.load.fn(state)
    assert state.can_write and state.clusters == [{"value": web, "label": "web"}]
    AlarmsState.new_alarm.fn(state)
    AlarmsState.save.fn(state, {**FORM, "comparator": "=~"})
    assert "comparator" in state.field_errors and state.form_open
    AlarmsState.save.fn(state, {**FORM, "cluster_id": web})
    assert not state.form_open and [i["name"] for i in state.items] == ["Errors"]
    assert state.items[0]["cluster"] == "web" and state.items[0]["state"] == "ok"
    alarm_id = state.items[0]["id"]
    AlarmsState.edit_alarm.fn(state, alarm_id)
    assert state.form["severity"] == "critical" and state.form["email"] == "on"
    monkeypatch.setattr(prom, "query", lambda q, at=None: [prom.Sample({}, 4.5)])
    state.preview_query = "sum(up)"
    AlarmsState.run_preview.fn(state)
    assert state.preview_text == "Current value: 4.5"
    state.preview_query = "sum(up"
    AlarmsState.run_preview.fn(state)
    assert state.preview_text.startswith("Invalid query")
    AlarmsState.toggle.fn(state, alarm_id, False)
    assert state.items[0]["enabled"] is False
    AlarmsState.show_history.fn(state, alarm_id)
    assert state.history_of == alarm_id and state.history == []
    AlarmsState.delete_alarm.fn(state, alarm_id)
    assert state.items == [] and state.history_of == ""


def test_other_org_and_viewer_cannot_touch_alarms(two_orgs):
    made = alarms.create(two_orgs["acme_member"], alarm_values(FORM))
    globex = make_state(AlarmsState, session_for("owner@globex.test"))
    AlarmsState.load.fn(globex)
    assert globex.items == []
    for handler, args in [
        ("edit_alarm", (made.id,)),
        ("toggle", (made.id, False)),
        ("delete_alarm", (made.id,)),
        ("show_history", (made.id,)),
    ]:
        result = getattr(AlarmsState, handler).fn(globex, *args)
        assert "Not found" in _event_names(result)
    assert globex.history == []
    viewer = make_state(AlarmsState, session_for("viewer@acme.test"))
    AlarmsState.load.fn(viewer)
    assert not viewer.can_write and len(viewer.items) == 1
    for handler, args in [("delete_alarm", (made.id,)), ("save", (FORM,))]:
        result = getattr(AlarmsState, handler).fn(viewer, *args)
        assert "member role" in _event_names(result)
    with session_scope() as s:
        assert len(s.exec(select(Alarm)).all()) == 1


def test_bell_counts_marks_and_follows_only_portal_links(two_orgs):
    owner = two_orgs["acme_owner"]
    notifications.notify([owner.user_id], org_id=owner.org_id, kind="alarm.firing",
                         title="Errors is firing", link="/alarms", dedupe_key="a")  # fmt: skip
    notifications.notify([owner.user_id], org_id=owner.org_id, kind="x",
                         title="evil", link="https://evil.test", dedupe_key="b")  # fmt: skip
    bell = make_state(NotificationsState, session_for("owner@acme.test"))
    NotificationsState.load.fn(bell)
    assert bell.unread == 2 and {n["title"] for n in bell.latest} == {"Errors is firing", "evil"}
    evil = next(n["id"] for n in bell.latest if n["title"] == "evil")
    assert NotificationsState.open_notice.fn(bell, evil, "https://evil.test") is None
    assert bell.unread == 1
    other = make_state(NotificationsState, session_for("owner@globex.test"))
    NotificationsState.load.fn(other)
    assert other.unread == 0 and other.latest == []
    NotificationsState.mark_all_read.fn(bell)
    assert bell.unread == 0


def test_collection_card_for_other_org_shows_nothing(two_orgs):
    web = _cluster(two_orgs["acme_member"].org_id, "web")
    card = make_state(MetricsCollectionState, session_for("owner@globex.test"))
    card.router.page.params["cluster_id"] = web
    MetricsCollectionState.load.fn(card)
    assert card.cluster_id == "" and card.collection == {} and not card.can_collect
    mine = make_state(MetricsCollectionState, session_for("viewer@acme.test"))
    mine.router.page.params["cluster_id"] = web
    MetricsCollectionState.load.fn(mine)
    assert mine.collection["enabled"] == "" and not mine.can_collect
    result = MetricsCollectionState.enable.fn(mine, {"namespaces": ""})
    assert "member role" in _event_names(result)
