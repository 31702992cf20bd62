"""Metering and the billing run on PostgreSQL (ON CONFLICT, NUMERIC money, row locks)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import Invoice, InvoiceLine, UsageRecord
from mkportal.services.billing import invoices, metering, rating
from mkportal.services.billing.metering import meter
from mkportal.services.billing.money import hours_in, money, parse_period, previous_period
from tests.conftest import make_two_orgs
from tests.unit.test_metering import make_cluster

pytestmark = pytest.mark.postgres
H = timedelta(hours=1)
LAST = previous_period(utcnow())


def _count() -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(UsageRecord)).one()


def test_metering_and_billing_on_postgres(pg_db):
    actors = make_two_orgs()
    acme, globex = actors["acme_owner"].org_id, actors["globex_owner"].org_id
    start, end = parse_period(LAST)
    make_cluster(acme, "web", created=start - H, features={"cert-manager": "ready"})
    make_cluster(globex, "shop", created=start + 24 * H, level="premium")
    meter(start)
    # Two metering runs at once, and a repeat: every record is written once.
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: meter(end), range(2)))
    hours = hours_in(LAST)
    assert _count() == hours * 3 + (hours - 24) * 2
    assert meter(end, start=start) == 0
    with session_scope() as s:
        rows = [
            r.model_dump(exclude={"id"})
            for r in s.exec(select(UsageRecord).where(UsageRecord.hour == start))
        ]
        metering.insert_ignore(s, rows)
    assert _count() == hours * 3 + (hours - 24) * 2

    result = invoices.run_billing(LAST)
    assert (result.created, result.errors) == (2, {})
    expected = rating.rate(LAST)
    with session_scope() as s:
        for inv in s.exec(select(Invoice)):
            lines = s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)).all()
            assert inv.status == "sent"
            assert inv.subtotal == sum((x.amount for x in lines), Decimal(0))
            assert inv.subtotal == expected[inv.org_id].subtotal
            assert isinstance(inv.total, Decimal)
    web_nodes = next(
        x for x in expected[acme].lines if x.component == "node" and x.cluster_name == "web"
    )
    assert web_nodes.amount == money(Decimal("0.045") * 2 * hours)
    again = invoices.run_billing(LAST)
    assert (again.created, again.rebuilt, again.unchanged) == (0, 0, 2)


def test_concurrent_runs_make_one_invoice_per_org_on_postgres(pg_db):
    actors = make_two_orgs()
    start, end = parse_period(LAST)
    for key in ("acme_owner", "globex_owner"):
        make_cluster(actors[key].org_id, "web", created=start - H)
    meter(end, start=start)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: invoices.build_drafts(LAST, actor=actors["operator"]), range(3)))
    with session_scope() as s:
        invs = s.exec(select(Invoice)).all()
        assert sorted(i.number for i in invs) == [f"MKP-{LAST}-0001", f"MKP-{LAST}-0002"]
        for inv in invs:
            lines = s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)).all()
            assert len(lines) == len(rating.rate(LAST)[inv.org_id].lines)
