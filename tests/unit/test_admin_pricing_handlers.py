"""The event handlers of /admin/service-levels and /admin/prices, called directly as a
browser could call them: signed out they redirect, as a customer they answer "Not found",
and neither changes anything. An operator's forms report bad input per field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.services.billing import price_admin, prices
from mkportal.services.billing import service_levels as sl
from mkportal.services.catalog import service_levels
from mkportal.state.admin_pricing import PricesState, ServiceLevelsState, version_body
from tests.unit.test_handlers_authz import _event_names, make_state, session_for

SEED = "seedpricemodel000000000000000001"
LEVEL_FORM = {
    "slug": "gold",
    "name": "Gold",
    "availability_target": "99.95",
    "maintenance_mode": "attended",
    "monitoring": "on",
    "support_hours": "24x7",
    "credit_policy": "0.5:10, 2:25, 100:100",
    "description": "Top",
    "sort_order": "",
}


def _price_form(**over) -> dict:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    c = prices.version_at(datetime.now(UTC)).components.as_json()
    form = {"effective_from": f"{tomorrow}T00:00", "currency": "CHF", "note": "n"}
    for part in ("level_base_monthly", "level_percent", "node_hour", "feature_hour"):
        for key, value in c[part].items():
            form[f"components.{part}.{key}"] = value
    for part in ("vcpu_hour", "gib_hour", "load_balancer_hour", "storage_gib_month"):
        form[f"components.{part}"] = c[part]
    form.update(over)
    return form


CALLS = [
    (ServiceLevelsState, "load", ()),
    (ServiceLevelsState, "new_level", ()),
    (ServiceLevelsState, "edit_level", ("standard",)),
    (ServiceLevelsState, "close_form", ()),
    (ServiceLevelsState, "save", (LEVEL_FORM,)),
    (ServiceLevelsState, "retire", ("standard",)),
    (ServiceLevelsState, "unretire", ("standard",)),
    (ServiceLevelsState, "delete", ("zero",)),
    (PricesState, "load", ()),
    (PricesState, "show_version", (SEED,)),
    (PricesState, "open_form", ()),
    (PricesState, "close_form", ()),
    (PricesState, "create", (_price_form,)),
    (PricesState, "delete", (SEED,)),
]


def _args(args: tuple) -> tuple:
    return tuple(a() if callable(a) else a for a in args)


def _unchanged(two_orgs) -> None:
    op = two_orgs["operator"]
    assert [v.version for v in price_admin.list_versions(op)] == [1]
    levels = sl.list_levels(op)
    assert [lv.slug for lv in levels] == ["zero", "standard", "professional", "premium"]
    assert not any(lv.retired for lv in levels)
    with session_scope() as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert not [a for a in actions if a.startswith(("service_level.", "price_model."))]


@pytest.mark.parametrize(("cls", "handler", "args"), CALLS)
@pytest.mark.parametrize("token", ["", "mks_garbage"])
def test_signed_out_clients_are_redirected_and_change_nothing(two_orgs, cls, handler, args, token):
    state = make_state(cls, token)
    if cls is ServiceLevelsState:
        state.editing = "standard"
    result = getattr(cls, handler).fn(state, *_args(args))
    assert "/login" in _event_names(result)
    _unchanged(two_orgs)


@pytest.mark.parametrize(("cls", "handler", "args"), CALLS)
@pytest.mark.parametrize("email", ["owner@acme.test", "viewer@acme.test", "owner@globex.test"])
def test_customers_get_not_found_and_change_nothing(two_orgs, cls, handler, args, email):
    state = make_state(cls, session_for(email))
    if cls is ServiceLevelsState and handler == "save":
        state.editing = "standard"  # try an update, too
        result = cls.save.fn(state, LEVEL_FORM)
        assert "Not found" in _event_names(result)
        state.editing = ""
    result = getattr(cls, handler).fn(state, *_args(args))
    if handler == "close_form":
        assert result is None  # nothing to protect: it only hides the form
    else:
        assert "Not found" in _event_names(result)
    for name in ("levels", "versions", "level_rows", "node_rows", "form_fields", "scheduled"):
        assert getattr(state, name, []) == []
    assert getattr(state, "form", {}) == {}
    assert getattr(state, "shown", {}) == {}
    _unchanged(two_orgs)


def test_operator_creates_edits_retires_and_deletes_a_level(two_orgs):
    state = make_state(ServiceLevelsState, session_for("ops@vshn.test"))
    ServiceLevelsState.load.fn(state)
    assert [r["slug"] for r in state.levels] == ["zero", "standard", "professional", "premium"]
    assert state.levels[1]["target"] == "99 %" and state.levels[0]["target"] == "best effort"
    assert state.levels[1]["policy"] == "0.5:10, 2:25, 100:100"
    ServiceLevelsState.new_level.fn(state)
    ServiceLevelsState.save.fn(state, "not a form")
    assert {"slug", "name"} <= set(state.field_errors)
    assert (
        state.form_open and state.editing == "" and state.form["maintenance_mode"] == "unattended"
    )
    bad = {**LEVEL_FORM, "slug": "Gold", "availability_target": "lots", "credit_policy": "1-10"}
    ServiceLevelsState.save.fn(state, bad)
    assert {"availability_target", "credit_policy"} <= set(state.field_errors)
    assert "0.5:10, 2:25, 100:100" in state.field_errors["credit_policy"]
    ServiceLevelsState.save.fn(state, {**bad, "availability_target": "99", "credit_policy": ""})
    assert "slug" in state.field_errors
    result = ServiceLevelsState.save.fn(state, {**LEVEL_FORM, "credit_policy": "2:10, 1:20"})
    assert state.field_errors["credit_policy"].startswith("Step 2: Must be larger than")
    assert "Please correct the fields marked in red." in _event_names(result)
    assert state.form_open
    ServiceLevelsState.save.fn(state, LEVEL_FORM)
    assert not state.form_open and state.field_errors == {}
    gold = next(r for r in state.levels if r["slug"] == "gold")
    assert (gold["target"], gold["mode"], gold["monitoring"], gold["status"]) == (
        "99.95 %",
        "attended",
        "yes",
        "offered",
    )
    ServiceLevelsState.edit_level.fn(state, "gold")
    assert state.editing == "gold" and state.form["credit_policy"] == "0.5:10, 2:25, 100:100"
    assert state.form["monitoring"] == "on"
    ServiceLevelsState.save.fn(state, {**LEVEL_FORM, "name": "Gold plus", "monitoring": ""})
    view = sl.get_level(two_orgs["operator"], "gold")
    assert (view.name, view.monitoring_during_maintenance) == ("Gold plus", False)
    ServiceLevelsState.retire.fn(state, "gold")
    assert "gold" not in [lv.slug for lv in service_levels()]
    assert next(r for r in state.levels if r["slug"] == "gold")["status"] == "retired"
    ServiceLevelsState.unretire.fn(state, "gold")
    assert "gold" in [lv.slug for lv in service_levels()]
    ServiceLevelsState.delete.fn(state, "gold")
    assert "gold" not in [r["slug"] for r in state.levels]


def test_operator_schedules_shows_and_deletes_a_price_version(two_orgs):
    state = make_state(PricesState, session_for("ops@vshn.test"))
    PricesState.load.fn(state)
    assert state.shown["version"] == "1" and state.shown["status"] == "in force"
    assert {"name": "Premium", "base": "400", "percent": "25"} in state.level_rows
    s2 = next(r for r in state.node_rows if r["machine"] == "s-2")
    assert (s2["price"], s2["source"]) == ("0.045", "node-hour price")
    assert any(r["provider"] == "eks (not enabled)" for r in state.node_rows)
    PricesState.open_form.fn(state)
    assert state.form_open and state.form_defaults["currency"] == "CHF"
    fields = {f["path"]: f["value"] for f in state.form_fields}
    assert fields["components.node_hour.sandbox/s-2"] == "0.045"
    assert fields["components.level_base_monthly.premium"] == "400"
    assert fields["components.feature_hour.log-agent"] == "0.020"
    assert [f["path"] for f in state.fallback_fields] == [
        "components.vcpu_hour",
        "components.gib_hour",
    ]
    assert len(state.node_fields) == 5 and len(state.level_fields) == 8
    assert len(state.other_node_fields) == 15 and not state.other_node_errors
    form = _price_form(
        effective_from="2020-01-01T00:00",
        **{"components.node_hour.sandbox/s-2": "0", "components.feature_hour.log-agent": "x"},
    )
    PricesState.create.fn(state, form)
    assert state.field_errors == {
        "components.feature_hour.log-agent": "Input should be a valid decimal"
    }
    PricesState.create.fn(state, {**form, "components.feature_hour.log-agent": "0.02"})
    assert "never retroactively" in state.field_errors["effective_from"]
    assert "more than 0" in state.field_errors["components.node_hour.sandbox/s-2"]
    PricesState.create.fn(state, _price_form(**{"components.node_hour.sandbox/s-2": "0"}))
    assert "more than 0" in state.field_errors["components.node_hour.sandbox/s-2"]
    PricesState.create.fn(state, ["not", "a", "form"])
    assert "effective_from" in state.field_errors
    PricesState.create.fn(state, _price_form(effective_from=""))
    assert "effective_from" in state.field_errors
    PricesState.create.fn(state, _price_form(**{"components.node_hour.gke/e2-standard-2": "0"}))
    assert state.other_node_errors
    result = PricesState.create.fn(
        state, _price_form(**{"components.level_base_monthly.gold": "1"})
    )
    assert "components.level_base_monthly.gold: No service level 'gold'." in _event_names(result)
    assert state.form_open
    result = PricesState.create.fn(
        state, _price_form(**{"components.node_hour.sandbox/s-2": "0.05"})
    )
    assert "scheduled" in _event_names(result)
    assert not state.form_open
    assert [(v["version"], v["status"]) for v in state.versions] == [
        ("2", "scheduled"),
        ("1", "in force"),
    ]
    assert [v["version"] for v in state.scheduled] == ["2"]
    assert state.shown["version"] == "2"
    assert next(r for r in state.node_rows if r["machine"] == "s-2")["price"] == "0.05"
    PricesState.show_version.fn(state, SEED)
    assert state.shown["version"] == "1"
    result = PricesState.delete.fn(state, SEED)
    assert "never retroactive" in _event_names(result)
    PricesState.delete.fn(state, state.scheduled[0]["id"])
    assert [v["version"] for v in state.versions] == ["1"] and state.scheduled == []


def test_version_body_from_a_form():
    body = version_body(
        {
            "effective_from": " 2027-01-01T00:00 ",
            "currency": "EUR",
            "note": "x",
            "components.node_hour.eks/m6i.large": "0.2",
            "components.node_hour.sandbox/s-2": "",
            "components.vcpu_hour": "",
            "components.gib_hour": "0.004",
            "price-components-vcpu-hour": "ignored",
            "components.bogus": "1",
        }
    )
    assert body["effective_from"] == "2027-01-01T00:00"
    assert body["components"]["node_hour"] == {"eks/m6i.large": "0.2"}
    assert (body["components"]["vcpu_hour"], body["components"]["gib_hour"]) == ("0", "0.004")
    assert "bogus" not in body["components"]
