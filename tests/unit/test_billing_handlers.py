"""The billing pages' event handlers (and the cluster page's cost impact), called directly.

As in test_handlers_authz: a signed-out client is redirected and changes nothing; a user
of another organisation sees none of this organisation's usage or invoices; the operator
console's handlers refuse customers.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import Credit, Invoice
from mkportal.models.operation import Operation
from mkportal.services import mail, operations
from mkportal.services.billing import invoices, metering
from mkportal.services.billing.money import parse_period, previous_period
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import ClusterIn
from mkportal.state.admin_billing import AdminBillingState, AdminCreditsState
from mkportal.state.billing import BillingState
from mkportal.state.cluster_detail import ClusterState
from tests.unit.test_clusters import _run
from tests.unit.test_handlers_authz import _event_names, make_state, session_for


def _acme_cluster(two_orgs, name: str = "shop") -> str:
    req = ClusterIn.model_validate(
        {
            "name": name,
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
        }
    )
    cluster, _op, _ = actions.create_cluster(two_orgs["acme_member"], req)
    return cluster.id


def _usage(org_id: str, cluster_id: str, period: str, hours: int = 48) -> None:
    start, _end = parse_period(period)
    rows = [
        {
            "org_id": org_id,
            "cluster_id": cluster_id,
            "hour": start + timedelta(hours=h),
            "service_level": "standard",
            "component": component,
            "sku": sku,
            "pool": pool,
            "quantity": qty,
        }
        for h in range(hours)
        for component, sku, pool, qty in (
            ("cluster", "standard", "", 1),
            ("node", "sandbox/s-2", "default", 2),
        )
    ]
    with session_scope() as s:
        metering.insert_ignore(s, rows)


@pytest.fixture
def billed(two_orgs) -> dict:
    """Acme used a cluster last month and was billed for it; one invoice exists."""
    cluster_id = _acme_cluster(two_orgs)
    period = previous_period(utcnow())
    _usage(two_orgs["acme_owner"].org_id, cluster_id, period)
    result = invoices.run_billing(period, actor=two_orgs["operator"])
    assert len(result.invoice_ids) == 1
    return {"cluster_id": cluster_id, "period": period, "invoice_id": result.invoice_ids[0]}


def _status(invoice_id: str) -> str:
    with session_scope() as s:
        return s.get(Invoice, invoice_id).status


def _credits() -> int:
    with session_scope() as s:
        return len(s.exec(select(Credit)).all())


SIGNED_OUT_CALLS = [
    (BillingState, "load", ()),
    (BillingState, "choose_period", ("2026-01",)),
    (BillingState, "open_invoice", ("INVOICE",)),
    (BillingState, "download_invoice", ("INVOICE",)),
    (AdminBillingState, "load", ()),
    (AdminBillingState, "choose_org_period", ("2026-01",)),
    (AdminBillingState, "set_invoice_filter", ("all",)),
    (AdminBillingState, "mark_paid", ("INVOICE",)),
    (AdminBillingState, "void_invoice", ()),
    (AdminBillingState, "resend", ("INVOICE",)),
    (AdminBillingState, "run_billing", ()),
    (AdminCreditsState, "load", ()),
    (AdminCreditsState, "choose_org", ("ORG",)),
    (
        AdminCreditsState,
        "add_credit",
        ({"period": "2026-01", "amount": "500", "reason": "free money"},),
    ),
    (ClusterState, "choose_service_level", ("premium",)),
]


@pytest.mark.parametrize(("cls", "handler", "args"), SIGNED_OUT_CALLS)
@pytest.mark.parametrize("token", ["", "mkp_not-a-session"])
def test_signed_out_clients_are_redirected_and_change_nothing(billed, cls, handler, args, token):
    invoice_id = billed["invoice_id"]
    before = _status(invoice_id)
    state = make_state(cls, token)
    args = tuple(invoice_id if a == "INVOICE" else a for a in args)
    if cls is AdminBillingState:
        state.void_target, state.void_reason, state.run_period = invoice_id, "a reason", "2020-01"
    if cls is AdminCreditsState:
        state.org_options = [{"value": "ORG", "label": "x"}]
    result = getattr(cls, handler).fn(state, *args)
    assert "/login" in _event_names(result)
    assert "download" not in _event_names(result)
    assert _status(invoice_id) == before
    assert _credits() == 0
    for var in ("invoices", "invoice_lines", "revenue", "credits", "org_options"):
        assert getattr(state, var, []) in ([], [{"value": "ORG", "label": "x"}])
    assert _billing_runs() == 0


def _billing_runs() -> int:
    with session_scope() as s:
        return len(s.exec(select(Operation).where(Operation.kind == "billing.run")).all())


def test_customers_see_their_own_billing(billed, two_orgs):
    state = make_state(BillingState, session_for("viewer@acme.test"))
    result = BillingState.load.fn(state)
    assert "watch" in _event_names(result)
    assert state.usage_ready is False and state.history_ready is False
    _refresh(state)
    assert state.usage_ready and state.history_ready
    assert [i["number"] for i in state.invoices] == [billed_number(billed)]
    assert state.invoices[0]["status"] == "sent"
    assert state.estimate["period"] == utcnow().strftime("%Y-%m")
    assert state.prices and state.prices[0]["price"].endswith("CHF")
    assert state.history and state.history[0]["period"] == billed["period"]

    BillingState.choose_period.fn(state, billed["period"])
    assert state.usage_rows >= 2
    assert state.usage_chart.data and "shop" in state.usage_chart.data[0].x
    assert Decimal(state.usage_total.split()[0].replace(",", "")) > 0

    BillingState.open_invoice.fn(state, billed["invoice_id"])
    assert state.invoice["number"] == billed_number(billed)
    assert {ln["cluster"] for ln in state.invoice_lines} == {"shop"}
    download = _event_names(BillingState.download_invoice.fn(state, billed["invoice_id"]))
    assert "download" in download and billed_number(billed) in download
    BillingState.close_invoice.fn(state)
    assert state.invoice == {}


def _refresh(state: BillingState) -> None:
    """Run one round of the live refresh, as `watch` does (fetch off the lock, then apply)."""
    state._apply(state._fetch(state.session_token, state.live_key))


def billed_number(billed: dict) -> str:
    with session_scope() as s:
        return s.get(Invoice, billed["invoice_id"]).number


def test_another_orgs_billing_is_not_exposed(billed, two_orgs):
    state = make_state(BillingState, session_for("owner@globex.test"))
    BillingState.load.fn(state)
    _refresh(state)
    assert state.invoices == [] and state.total == 0
    assert state.estimate_clusters == [] and state.history == []
    BillingState.choose_period.fn(state, billed["period"])
    assert state.usage_rows == 0
    assert "Not found" in _event_names(BillingState.open_invoice.fn(state, billed["invoice_id"]))
    assert state.invoice == {} and state.invoice_lines == []
    result = _event_names(BillingState.download_invoice.fn(state, billed["invoice_id"]))
    assert "Not found" in result and "download" not in result
    # A month outside the offered ones is ignored, not looked up.
    BillingState.choose_period.fn(state, "1999-01")
    assert state.usage_period == billed["period"]


def test_a_tab_signed_in_to_another_org_forgets_what_it_showed(billed, two_orgs):
    state = make_state(BillingState, session_for("owner@acme.test"))
    BillingState.load.fn(state)
    _refresh(state)
    BillingState.choose_period.fn(state, billed["period"])
    BillingState.open_invoice.fn(state, billed["invoice_id"])
    assert state.history and state.invoice and state.usage_rows
    state.session_token = session_for("owner@globex.test")
    BillingState.load.fn(state)
    assert state.invoices == [] and state.invoice == {} and state.invoice_lines == []
    assert state.history == [] and state.estimate == {} and state.history_ready is False
    assert state.usage_rows == 0
    _refresh(state)
    assert state.estimate_clusters == [] and state.history == []


def test_running_estimate_is_the_callers_org(billed, two_orgs):
    acme = make_state(BillingState, session_for("member@acme.test"))
    BillingState.load.fn(acme)
    now = utcnow().strftime("%Y-%m")
    _usage(two_orgs["acme_owner"].org_id, billed["cluster_id"], now, hours=2)
    _refresh(acme)
    assert [c["cluster"] for c in acme.estimate_clusters] == ["shop"]
    assert acme.usage_period == now and acme.usage_rows >= 1
    assert "shop" in acme.usage_chart.data[0].x
    BillingState.choose_period.fn(acme, billed["period"])
    BillingState.choose_period.fn(acme, now)
    assert acme.usage_rows >= 1
    # The history is read once per visit; later refreshes only rate the month.
    assert acme._fetch(acme.session_token, acme.live_key)[1] is None
    globex = make_state(BillingState, session_for("owner@globex.test"))
    BillingState.load.fn(globex)
    _refresh(globex)
    assert globex.estimate_clusters == [] and globex.usage_rows == 0
    assert globex.estimate["to_date"].startswith("0.00")


@pytest.mark.parametrize("email", ["owner@acme.test", "member@acme.test", "owner@globex.test"])
def test_admin_billing_handlers_refuse_customers(billed, two_orgs, email):
    invoice_id = billed["invoice_id"]
    state = make_state(AdminBillingState, session_for(email))
    assert "Not found" in _event_names(AdminBillingState.load.fn(state))
    assert state.revenue == [] and state.invoices == [] and state.org_revenue == []
    state.org_period = billed["period"]
    assert "Not found" in _event_names(AdminBillingState.set_invoice_filter.fn(state, "all"))
    assert "Not found" in _event_names(
        AdminBillingState.choose_org_period.fn(state, billed["period"])
    )
    assert state.invoices == [] and state.org_revenue == []
    assert "Not found" in _event_names(AdminBillingState.mark_paid.fn(state, invoice_id))
    state.void_target, state.void_reason = invoice_id, "customer says so"
    assert "Not found" in _event_names(AdminBillingState.void_invoice.fn(state))
    assert "Not found" in _event_names(AdminBillingState.resend.fn(state, invoice_id))
    state.run_period = billed["period"]
    assert "Not found" in _event_names(AdminBillingState.run_billing.fn(state))
    assert _billing_runs() == 0
    assert _status(invoice_id) == "sent"

    credits = make_state(AdminCreditsState, session_for(email))
    assert "Not found" in _event_names(AdminCreditsState.load.fn(credits))
    assert credits.org_options == [] and credits.credits == []
    credits.credit_org = two_orgs["acme_owner"].org_id
    result = AdminCreditsState.add_credit.fn(
        credits, {"period": utcnow().strftime("%Y-%m"), "amount": "999", "reason": "gift"}
    )
    assert "Not found" in _event_names(result)
    assert _credits() == 0


def test_operator_follows_up_invoices(billed, two_orgs):
    invoice_id = billed["invoice_id"]
    state = make_state(AdminBillingState, session_for("ops@vshn.test"))
    assert "AdminCreditsState" in _event_names(AdminBillingState.load.fn(state))
    assert [i["id"] for i in state.invoices] == [invoice_id]
    assert state.org_period == billed["period"]
    assert [r["org_name"] for r in state.org_revenue] == ["Acme"]
    assert any(r["period"] == billed["period"] for r in state.revenue)
    assert state.revenue_chart.data

    outbox = mail.list_outbox(two_orgs["operator"]).total
    assert "Invoice sent to" in _event_names(AdminBillingState.resend.fn(state, invoice_id))
    assert mail.list_outbox(two_orgs["operator"]).total == outbox + 1

    AdminBillingState.ask_void.fn(state, invoice_id, "X")
    state.void_reason = "x"
    AdminBillingState.void_invoice.fn(state)
    assert "reason" in state.field_errors and state.void_target == invoice_id
    assert _status(invoice_id) == "sent"

    assert "marked paid" in _event_names(AdminBillingState.mark_paid.fn(state, invoice_id))
    assert _status(invoice_id) == "paid"
    assert state.invoices == []
    AdminBillingState.set_invoice_filter.fn(state, "paid")
    assert [i["status"] for i in state.invoices] == ["paid"]
    AdminBillingState.set_invoice_filter.fn(state, "bogus")
    assert state.invoice_filter == "paid"


def test_operator_voids_with_a_reason(billed, two_orgs):
    state = make_state(AdminBillingState, session_for("ops@vshn.test"))
    AdminBillingState.load.fn(state)
    AdminBillingState.ask_void.fn(state, billed["invoice_id"], "X")
    AdminBillingState.set_void_reason.fn(state, "Billed twice by mistake")
    assert "void" in _event_names(AdminBillingState.void_invoice.fn(state))
    assert _status(billed["invoice_id"]) == "void" and state.void_target == ""


def test_run_billing_checks_the_month_then_starts_a_durable_run(two_orgs):
    state = make_state(AdminBillingState, session_for("ops@vshn.test"))
    AdminBillingState.load.fn(state)
    assert state.run_period == previous_period(utcnow())
    AdminBillingState.set_run_period.fn(state, utcnow().strftime("%Y-%m"))
    AdminBillingState.run_billing.fn(state)
    assert "period" in state.field_errors
    AdminBillingState.set_run_period.fn(state, "last month")
    AdminBillingState.run_billing.fn(state)
    assert "period" in state.field_errors
    with session_scope() as s:
        assert not s.exec(select(Operation).where(Operation.kind == "billing.run")).all()
    AdminBillingState.set_run_period.fn(state, previous_period(utcnow()))
    result = AdminBillingState.run_billing.fn(state)
    with session_scope() as s:
        op = s.exec(select(Operation).where(Operation.kind == "billing.run")).one()
    assert op.params == {"period": previous_period(utcnow())}
    assert f"/operations/{op.id}" in _event_names(result) and state.field_errors == {}


def test_operator_adds_credits_with_inline_errors(billed, two_orgs):
    state = make_state(AdminCreditsState, session_for("ops@vshn.test"))
    AdminCreditsState.load.fn(state)
    assert {o["label"] for o in state.org_options} == {"Acme", "Globex"}
    now = utcnow().strftime("%Y-%m")
    AdminCreditsState.add_credit.fn(state, {"period": "soon", "amount": "-5", "reason": ""})
    assert {"org_id", "period", "amount", "reason"} <= set(state.field_errors)
    acme = two_orgs["acme_owner"].org_id
    AdminCreditsState.choose_org.fn(state, acme)
    assert [o["label"] for o in state.cluster_options] == ["No particular cluster", "shop"]
    AdminCreditsState.choose_cluster.fn(state, billed["cluster_id"])
    # Last month's invoice is issued: its credits go to a later month.
    result = AdminCreditsState.add_credit.fn(
        state, {"period": billed["period"], "amount": "10", "reason": "Outage"}
    )
    assert "already" in _event_names(result)
    result = AdminCreditsState.add_credit.fn(
        state, {"period": now, "amount": "12.50", "reason": "Outage of 3 hours"}
    )
    assert "added" in _event_names(result) and state.field_errors == {}
    assert [(c["org_name"], c["amount"], c["cluster_id"]) for c in state.credits] == [
        ("Acme", "12.50", billed["cluster_id"])
    ]
    AdminCreditsState.choose_org.fn(state, "not-an-org")
    assert state.credit_org == acme


def test_cluster_cost_impact_before_saving(two_orgs, monkeypatch):
    for name, value in (("SANDBOX_CLUSTER_DELAY", "0"), ("SANDBOX_NODE_DELAY", "0")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    cluster_id = _acme_cluster(two_orgs)
    first_op = operations.list_operations(two_orgs["acme_member"], cluster_id=cluster_id).items[0]
    assert _run(first_op.id) == "succeeded"
    state = make_state(ClusterState, session_for("member@acme.test"))
    state.router.page.params["cluster_id"] = cluster_id
    ClusterState.load.fn(state)
    assert state.pool_cost["changed"] == "no"
    now = state.pool_cost["now"]
    ClusterState.set_pool_field.fn(state, 0, "count", "3")
    assert state.pool_cost["changed"] == "yes" and state.pool_cost["tone"] == "up"
    assert state.pool_cost["difference"].startswith("+")
    assert state.pool_cost["now"] == now
    assert "s-2 nodes: 2 -> 3" in {ln["label"] for ln in state.pool_cost_lines}
    ClusterState.set_pool_field.fn(state, 0, "count", "1")
    assert state.pool_cost["tone"] == "down" and state.pool_cost["difference"].startswith("-")
    ClusterState.set_pool_field.fn(state, 0, "count", "lots")
    assert state.pool_cost["tone"] == "down"
    ClusterState.set_pool_field.fn(state, 0, "count", "2")
    ClusterState.set_pool_field.fn(state, 0, "autoscaling", True)
    assert "Cluster autoscaler" in {ln["label"] for ln in state.pool_cost_lines}
    assert state.pool_cost["range"].startswith("With autoscaling")

    ClusterState.toggle_feature.fn(state, "cert-manager", True)
    assert state.feature_cost["tone"] == "up"
    assert {ln["label"] for ln in state.feature_cost_lines} == {
        "cert-manager",
        "Ingress controller",
    }

    ClusterState.choose_service_level.fn(state, "premium")
    assert state.level_dialog is True and state.level_choice == "premium"
    assert state.level_cost["tone"] == "up"
    assert actions.get_cluster(two_orgs["acme_member"], cluster_id).service_level == "standard"
    ClusterState.set_level_dialog.fn(state, False)
    ClusterState.choose_service_level.fn(state, "gold")
    assert state.level_dialog is False
    ClusterState.choose_service_level.fn(state, "premium")
    ClusterState.set_service_level.fn(state, state.level_choice)
    assert state.level_dialog is False
    assert actions.get_cluster(two_orgs["acme_member"], cluster_id).service_level == "premium"


def test_another_orgs_cluster_is_not_priced(two_orgs):
    cluster_id = _acme_cluster(two_orgs)
    state = make_state(ClusterState, session_for("owner@globex.test"))
    state.router.page.params["cluster_id"] = cluster_id
    ClusterState.load.fn(state)
    assert state.missing and state.pool_cost == {}
    state.level_options = [{"value": "premium", "label": "Premium"}]
    ClusterState.choose_service_level.fn(state, "premium")
    assert state.level_cost == {} and state.level_dialog is False


def test_billing_contact_is_per_org_and_only_owners_change_it(two_orgs):
    from mkportal.state.billing_contact import BillingContactState

    signed_out = make_state(BillingContactState, "mks_garbage")
    result = BillingContactState.save.fn(signed_out, {"billing_email": "evil@example.com"})
    assert "/login" in _event_names(result)

    viewer = make_state(BillingContactState, session_for("viewer@acme.test"))
    result = BillingContactState.save.fn(viewer, {"billing_email": "evil@example.com"})
    assert "owner role" in _event_names(result)

    owner = make_state(BillingContactState, session_for("owner@acme.test"))
    BillingContactState.save.fn(owner, {"billing_email": "not an email"})
    assert "billing_email" in owner.field_errors
    BillingContactState.save.fn(owner, {"billing_email": "Accounts@Acme.test"})
    assert owner.billing_email == "accounts@acme.test"
    assert owner.recipients == "accounts@acme.test"

    globex = make_state(BillingContactState, session_for("owner@globex.test"))
    BillingContactState.load.fn(globex)
    assert globex.billing_email == "" and globex.recipients == "owner@globex.test"
