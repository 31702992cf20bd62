"""Invoices: the billing run, its life cycle and audit, crashes, credits, isolation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from mkportal.cli import main
from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.base import utcnow
from mkportal.models.billing import Credit, Invoice, InvoiceLine, SloReport
from mkportal.models.cluster import Cluster
from mkportal.services import mail
from mkportal.services.billing import (
    credits,
    delivery,
    estimate,
    invoices,
    jobs,
    rating,
    reports,
)
from mkportal.services.billing.metering import meter
from mkportal.services.billing.money import hours_in, money, parse_period, previous_period
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.worker.engine import execute
from tests.unit.test_metering import make_cluster

H = timedelta(hours=1)
LAST = previous_period(utcnow())
START, END = parse_period(LAST)


class Crash(BaseException):
    """A process dying mid-run (not an error the code could catch)."""


@pytest.fixture
def billed(two_orgs) -> dict:
    """Acme and Globex each run clusters all of last month; metering covered it."""
    acme, globex = two_orgs["acme_owner"].org_id, two_orgs["globex_owner"].org_id
    make_cluster(acme, "web", created=START - H, features={"ingress-controller": "ready"})
    make_cluster(acme, "api", created=START + 100 * H, level="professional")
    make_cluster(globex, "shop", created=START - H, pools=(("default", "m-4", 3),))
    meter(END, start=START)
    return {**two_orgs, "acme": acme, "globex": globex}


def snapshot() -> list[tuple]:
    """Every invoice with its lines and credits, in a comparable form."""
    with session_scope() as s:
        out = []
        for inv in s.exec(select(Invoice).order_by(col(Invoice.number))):
            lines = s.exec(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == inv.id)
                .order_by(col(InvoiceLine.position))
            ).all()
            out.append(
                (
                    inv.number,
                    inv.org_id,
                    inv.status,
                    inv.subtotal,
                    inv.credit_total,
                    inv.total,
                    tuple((x.description, x.quantity, x.unit_price, x.amount) for x in lines),
                )
            )
        return out


def audit_actions(target_id: str) -> list[str]:
    with session_scope() as s:
        return [
            e.action
            for e in s.exec(
                select(AuditEvent)
                .where(AuditEvent.target_id == target_id)
                .order_by(col(AuditEvent.at), col(AuditEvent.id))
            )
        ]


def outbox_count(actor) -> int:
    return mail.list_outbox(actor).total


def test_a_run_issues_one_invoice_per_organisation(billed):
    result = invoices.run_billing(LAST)
    assert (result.created, result.rebuilt, result.unchanged, result.errors) == (2, 0, 0, {})
    page = invoices.list_invoices(billed["operator"], all_orgs=True)
    by_org = {v.org_name: v for v in page.items}
    assert by_org["Acme"].number == f"MKP-{LAST}-0001"
    assert by_org["Globex"].number == f"MKP-{LAST}-0002"
    expected = rating.rate(LAST)
    for view in page.items:
        charges = expected[view.org_id]
        assert view.status == "sent" and view.sent_at is not None
        assert view.subtotal == charges.subtotal and view.total == charges.subtotal
    detail = invoices.get_invoice(billed["acme_owner"], by_org["Acme"].id)
    assert [x.description for x in detail.lines] == [
        x.description for x in expected[billed["acme"]].lines
    ]
    assert {x.cluster_name for x in detail.lines} == {"web", "api"}
    hours = hours_in(LAST)
    web_nodes = next(x for x in detail.lines if x.cluster_name == "web" and x.component == "node")
    assert web_nodes.amount == money(Decimal("0.045") * 2 * hours)
    assert audit_actions(by_org["Acme"].id) == [
        "invoice.drafted",
        "invoice.finalized",
        "invoice.emailed",
        "invoice.sent",
    ]
    assert outbox_count(billed["operator"]) == 2
    # A second run changes nothing and sends nothing.
    before = snapshot()
    again = invoices.run_billing(LAST)
    assert (again.created, again.rebuilt, again.unchanged) == (0, 0, 2)
    assert snapshot() == before
    assert outbox_count(billed["operator"]) == 2


@pytest.mark.parametrize("where", ["draft", "finalize", "deliver"])
def test_a_run_that_crashes_and_is_rerun_gives_the_same_invoices(billed, monkeypatch, where):
    sent = []
    real_deliver = delivery.deliver

    def crash_once(real, key):
        calls = []

        def wrapper(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise Crash(f"killed during {key}")
            return real(*args, **kwargs)

        return wrapper

    if where == "draft":
        monkeypatch.setattr(
            invoices, "_sync_slo_credits", crash_once(invoices._sync_slo_credits, where)
        )
    elif where == "finalize":
        from mkportal.services.billing import lifecycle

        monkeypatch.setattr(lifecycle, "transition", crash_once(lifecycle.transition, where))
    else:
        monkeypatch.setattr(delivery, "deliver", crash_once(real_deliver, where))
    with pytest.raises(Crash):
        invoices.run_billing(LAST)
    monkeypatch.undo()
    monkeypatch.setattr(delivery, "deliver", lambda i: (sent.append(i), real_deliver(i)))
    result = invoices.run_billing(LAST)
    assert len(result.invoice_ids) == 2 and not result.errors
    assert len(sent) == (1 if where == "deliver" else 2)  # only what was not delivered yet
    state = snapshot()
    assert [s[0] for s in state] == [f"MKP-{LAST}-0001", f"MKP-{LAST}-0002"]
    assert [s[2] for s in state] == ["sent", "sent"]
    expected = rating.rate(LAST)
    for _number, org_id, _status, subtotal, _credit, total, lines in state:
        assert subtotal == total == expected[org_id].subtotal
        assert [x[0] for x in lines] == [x.description for x in expected[org_id].lines]
    # Each invoice was finalized once and emailed once, crash or not.
    for invoice_id in result.invoice_ids:
        actions = audit_actions(invoice_id)
        assert actions.count("invoice.finalized") == 1 and actions.count("invoice.emailed") == 1
    assert outbox_count(billed["operator"]) == 2
    # The same invoices as a run without a crash: a third run changes nothing.
    invoices.run_billing(LAST)
    assert snapshot() == state


def test_life_cycle_mark_paid_and_void(billed):
    operator = billed["operator"]
    invoices.run_billing(LAST)
    acme_inv, globex_inv = invoices.list_invoices(operator, all_orgs=True).items
    with pytest.raises(NotFound):
        invoices.mark_paid(billed["acme_owner"], acme_inv.id)
    with pytest.raises(NotFound):
        invoices.void(billed["acme_owner"], acme_inv.id, "no reason")
    paid = invoices.mark_paid(operator, acme_inv.id)
    assert paid.status == "paid" and paid.paid_at is not None
    assert invoices.mark_paid(operator, acme_inv.id).status == "paid"  # a repeat is a no-op
    with pytest.raises(Conflict):
        invoices.void(operator, acme_inv.id, "changed our mind")
    with pytest.raises(Invalid) as err:
        invoices.void(operator, globex_inv.id, " ")
    assert "reason" in err.value.errors
    voided = invoices.void(operator, globex_inv.id, "billed twice by mistake")
    assert voided.status == "void"
    with pytest.raises(Conflict):
        invoices.mark_paid(operator, globex_inv.id)
    assert audit_actions(acme_inv.id)[-1] == "invoice.paid"
    with session_scope() as s:
        event = s.exec(
            select(AuditEvent).where(
                AuditEvent.target_id == globex_inv.id, AuditEvent.action == "invoice.void"
            )
        ).one()
    assert event.detail["reason"] == "billed twice by mistake"
    assert event.actor_email == operator.email
    with pytest.raises(NotFound):
        invoices.mark_paid(operator, "nope")


def test_manual_credits(billed):
    operator, acme = billed["operator"], billed["acme"]
    bad = [
        ({"amount": "-5"}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 2.5}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"period": "2026-13"}, "period"),
        ({"reason": "x"}, "reason"),
        ({"org_id": "nope"}, "org_id"),
        ({"cluster_id": "nope"}, "cluster_id"),
    ]
    for change, field in bad:
        args = {"org_id": acme, "period": LAST, "amount": "10", "reason": "outage"} | change
        with pytest.raises(Invalid) as err:
            credits.add_credit(operator, **args)
        assert field in err.value.errors, (change, err.value.errors)
    with pytest.raises(NotFound):
        credits.add_credit(
            billed["acme_owner"], org_id=acme, period=LAST, amount="10", reason="please"
        )
    view = credits.add_credit(
        operator, org_id=acme, period=LAST, amount="25.50", reason="Ingress outage on the 3rd"
    )
    assert (view.amount, view.source, view.org_name, view.created_by) == (
        Decimal("25.50"),
        "manual",
        "Acme",
        operator.email,
    )
    huge = credits.add_credit(
        operator, org_id=billed["globex"], period=LAST, amount="999999", reason="goodwill"
    )
    assert huge.amount == Decimal("999999.00")
    invoices.run_billing(LAST)
    page = {v.org_name: v for v in invoices.list_invoices(operator, all_orgs=True).items}
    acme_inv, globex_inv = page["Acme"], page["Globex"]
    assert acme_inv.credit_total == Decimal("25.50")
    assert acme_inv.total == acme_inv.subtotal - Decimal("25.50")
    # A credit above the charges is capped: the total is never negative.
    assert globex_inv.credit_total == globex_inv.subtotal and globex_inv.total == 0
    assert globex_inv.status == "paid"  # nothing to pay
    detail = invoices.get_invoice(billed["acme_owner"], acme_inv.id)
    assert [c.reason for c in detail.credits] == ["Ingress outage on the 3rd"]
    with pytest.raises(Conflict) as err:
        credits.add_credit(operator, org_id=acme, period=LAST, amount="1", reason="too late")
    assert "later month" in err.value.message
    assert credits.list_credits(operator).total == 2
    assert [c.org_name for c in credits.list_credits(billed["acme_owner"]).items] == ["Acme"]
    assert credits.list_credits(billed["globex_owner"], org_id=acme).total == 0
    assert "credit.added" in audit_actions(view.id)


def test_slo_credits_are_computed_once(billed):
    operator, acme = billed["operator"], billed["acme"]
    with session_scope() as s:
        api_id = s.exec(select(Cluster.id).where(Cluster.name == "api")).one()
        s.add(
            SloReport(
                org_id=acme,
                cluster_id=api_id,
                period=LAST,
                service_level="professional",
                availability=Decimal("98.9"),
                target=Decimal("99.5"),
                downtime_minutes=400,
            )
        )
    for _ in range(2):
        invoices.build_drafts(LAST, actor=operator)
    with session_scope() as s:
        slo = s.exec(select(Credit).where(Credit.source == "slo")).all()
    assert len(slo) == 1
    api_charges = sum(
        (x.amount for x in rating.rate(LAST)[acme].lines if x.cluster_name == "api"), Decimal(0)
    )
    assert slo[0].amount == money(api_charges / 4)  # missed by 0.6 points: 25 %
    invoices.run_billing(LAST)
    inv = next(v for v in invoices.list_invoices(billed["acme_owner"]).items if v.period == LAST)
    assert inv.credit_total == slo[0].amount and inv.total == inv.subtotal - slo[0].amount
    detail = invoices.get_invoice(billed["acme_owner"], inv.id)
    assert [c.source for c in detail.credits] == ["slo"]
    assert "25 %" in detail.credits[0].reason


def test_customers_see_only_their_own_organisation(billed):
    acme_owner, globex_owner = billed["acme_owner"], billed["globex_owner"]
    ids, _ = invoices.build_drafts(LAST, actor=billed["operator"])
    # Drafts are internal.
    assert invoices.list_invoices(acme_owner).total == 0
    with pytest.raises(NotFound):
        invoices.get_invoice(acme_owner, ids[0])
    invoices.run_billing(LAST)
    acme_ids = [v.id for v in invoices.list_invoices(acme_owner).items]
    globex_ids = [v.id for v in invoices.list_invoices(globex_owner).items]
    assert len(acme_ids) == len(globex_ids) == 1 and acme_ids != globex_ids
    assert invoices.list_invoices(acme_owner, all_orgs=True).total == 1
    with pytest.raises(NotFound):
        invoices.get_invoice(globex_owner, acme_ids[0])
    invoices.get_invoice(billed["acme_viewer"], acme_ids[0])
    assert invoices.list_invoices(billed["operator"], all_orgs=True).total == 2
    assert {r.cluster_name for r in reports.usage_breakdown(globex_owner, LAST)} == {"shop"}
    assert {r.cluster_name for r in reports.usage_breakdown(acme_owner, LAST)} == {"web", "api"}
    for call in (
        lambda: reports.revenue_by_month(acme_owner),
        lambda: reports.revenue_by_org(acme_owner, LAST),
        lambda: invoices.run_billing(LAST, actor=acme_owner),
        lambda: jobs.request_run(acme_owner, LAST),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(Invalid):
        invoices.list_invoices(acme_owner, status="bogus")


def test_reports(billed):
    operator, acme_owner = billed["operator"], billed["acme_owner"]
    unbilled = reports.monthly_totals(acme_owner)
    assert [(m.period, m.status) for m in unbilled][-2:][0] == (LAST, "unbilled")
    rated = rating.rate(LAST)[billed["acme"]].subtotal
    assert next(m for m in unbilled if m.period == LAST).amount == rated
    invoices.run_billing(LAST)
    months = reports.monthly_totals(acme_owner)
    assert months[-1].status == "running"
    # Given this month's estimate, the same months come back without rating it again.
    running = estimate.running_estimate(acme_owner)
    assert reports.monthly_totals(acme_owner, running=running) == months
    assert months[-1].amount == running.to_date
    assert (months[-2].period, months[-2].status, months[-2].amount) == (LAST, "sent", rated)
    usage = reports.usage_breakdown(acme_owner, LAST)
    assert sum((r.amount for r in usage), Decimal(0)) == rated
    web_nodes = next(r for r in usage if r.cluster_name == "web" and r.component == "node")
    assert (web_nodes.quantity, web_nodes.unit) == (2 * hours_in(LAST), "node-hour")
    acme_inv = invoices.list_invoices(acme_owner).items[0]
    invoices.mark_paid(operator, acme_inv.id)
    row = next(r for r in reports.revenue_by_month(operator) if r.period == LAST)
    total = sum(v.total for v in invoices.list_invoices(operator, all_orgs=True).items)
    assert (row.invoiced, row.paid, row.outstanding) == (
        total,
        acme_inv.total,
        total - acme_inv.total,
    )
    by_org = {r.org_name: r for r in reports.revenue_by_org(operator, LAST)}
    assert by_org["Acme"].paid == acme_inv.total and by_org["Acme"].outstanding == 0
    assert by_org["Globex"].outstanding == by_org["Globex"].invoiced > 0
    assert len(reports.revenue_by_month(operator, months=3)) == 3
    with pytest.raises(Invalid):
        reports.usage_breakdown(acme_owner, "last month")


def test_running_estimate(billed):
    acme_owner = billed["acme_owner"]
    now = START + 10 * 24 * H + timedelta(minutes=30)
    est = estimate.running_estimate(acme_owner, now=now)
    assert est.period == LAST and est.currency == "CHF"
    # Metering covered the whole month already; the projection adds nothing more.
    rated = rating.rate(LAST)[billed["acme"]].subtotal
    assert est.to_date == est.projected == rated
    web_nodes = next(x for x in est.lines if x.cluster_name == "web" and x.component == "node")
    assert web_nodes.description == "s-2 nodes (pool default)"


def test_running_estimate_projects_to_the_month_end(two_orgs):
    acme_owner = two_orgs["acme_owner"]
    start = START
    make_cluster(acme_owner.org_id, "web", created=start - H)
    make_cluster(two_orgs["globex_owner"].org_id, "other", created=start - H)
    now = start + 10 * 24 * H + timedelta(minutes=30)
    meter(now, start=start)
    est = estimate.running_estimate(acme_owner, now=now)
    hours = hours_in(LAST)
    done = 10 * 24
    nodes = next(x for x in est.lines if x.component == "node")
    assert nodes.to_date == money(Decimal("0.045") * 2 * done)
    assert nodes.projected == nodes.to_date + money(Decimal("0.045") * 2 * (hours - done))
    base = next(x for x in est.lines if x.component == "base")
    assert base.description == "Standard base fee"
    assert base.to_date == money(Decimal(50) * done / hours)
    assert base.projected == base.to_date + money(Decimal(50) * (hours - done) / hours)
    assert abs(base.projected - 50) <= Decimal("0.01")
    assert est.projected == sum((x.projected for x in est.lines), Decimal(0))
    assert {x.cluster_name for x in est.lines} == {"web"}


def test_the_run_refuses_months_that_are_not_over(billed):
    with pytest.raises(Invalid) as err:
        invoices.run_billing(previous_period(END + 40 * 24 * H))
    assert "not over" in err.value.errors["period"]
    with pytest.raises(Invalid):
        invoices.run_billing("2026-13")
    with pytest.raises(NotFound):
        invoices.run_billing(LAST, org_id="nope")


def test_a_run_for_one_organisation(billed):
    result = invoices.run_billing(LAST, org_id=billed["globex"])
    assert result.created == 1
    assert [
        v.org_name for v in invoices.list_invoices(billed["operator"], all_orgs=True).items
    ] == ["Globex"]


def test_the_scheduled_run_happens_once_as_an_operation(billed):
    first_of_next = END + timedelta(hours=2)
    op_id = jobs.schedule_monthly(first_of_next)
    assert op_id is not None
    assert jobs.schedule_monthly(first_of_next + timedelta(days=3)) is None
    assert execute(op_id, "test") == "succeeded"
    from mkportal.services import operations

    op = operations.get(billed["operator"], op_id)
    assert op.kind == "billing.run" and op.result["created"] == 2
    assert op.result["delivered"] == 2
    assert invoices.list_invoices(billed["operator"], all_orgs=True).total == 2
    # Nothing to bill the month before: no operation.
    assert jobs.schedule_monthly(START + timedelta(hours=2)) is None


def test_cli_billing(billed, capsys):
    assert main(["billing", "run", "--month", "2026-13"]) == 2
    assert "--month: Use a month as YYYY-MM" in capsys.readouterr().err
    assert main(["billing", "run", "--month", LAST, "--org", "nope"]) == 2
    assert "no organisation" in capsys.readouterr().err
    assert main(["billing", "run", "--month", LAST, "--org", "acme"]) == 0
    out = capsys.readouterr().out
    assert f"MKP-{LAST}-0001" in out and "Acme" in out and "sent" in out
    assert main(["billing", "run", "--month", LAST]) == 0
    out = capsys.readouterr().out
    assert "1 created" in out and "1 already issued" in out and "Globex" in out
    assert main(["billing", "meter"]) == 0
    assert "Recorded" in capsys.readouterr().out
