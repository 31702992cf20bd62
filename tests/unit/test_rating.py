"""Rating: exact prices, proration, price versions, and properties (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.billing import (
    Credit,
    Invoice,
    InvoiceLine,
    MeterCursor,
    PriceModel,
    UsageRecord,
)
from mkportal.models.cluster import Cluster, NodePool
from mkportal.models.org import Organization
from mkportal.services.actor import Actor
from mkportal.services.billing import invoices, rating
from mkportal.services.billing.metering import meter
from mkportal.services.billing.money import money
from mkportal.services.billing.prices import all_versions
from tests.unit.test_metering import make_cluster

H = timedelta(hours=1)
OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
OCT_HOURS = 744
DB_EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def add_version(effective: datetime, version: int = 2, **changes) -> None:
    """Store a price version (as A's admin would) with some prices changed."""
    components = all_versions()[0].components.model_copy(update=changes)
    with session_scope() as s:
        s.add(
            PriceModel(
                version=version,
                effective_from=effective,
                currency="CHF",
                components=components.as_json(),
                note="test",
                created_by="test",
            )
        )


def meter_month(start: datetime = OCT, end: datetime = NOV) -> None:
    meter(end, start=start)


def lines_by(org_id: str, period: str = "2026-10") -> dict:
    charges = rating.rate(period, org_id=org_id)[org_id]
    return {(x.cluster_name, x.component, x.sku, x.price_version): x for x in charges.lines}


@pytest.fixture
def acme(two_orgs) -> str:
    return two_orgs["acme_owner"].org_id


def test_a_full_month_is_priced_exactly(acme):
    make_cluster(acme, "web", created=OCT - 48 * H, features={"ingress-controller": "ready"})
    make_cluster(acme, "api", created=OCT - 48 * H, level="professional")
    meter_month()
    lines = lines_by(acme)
    web_node = lines[("web", "node", "sandbox/s-2", 1)]
    assert (web_node.quantity, web_node.unit, web_node.unit_price, web_node.amount) == (
        Decimal(1488),
        "node-hour",
        Decimal("0.045"),
        Decimal("66.96"),
    )
    assert web_node.description == ("web · 2 × s-2 nodes (pool default) · 1,488 node-hours @ 0.045")
    assert lines[("web", "feature", "ingress-controller", 1)].amount == Decimal("14.88")
    assert lines[("web", "base", "standard", 1)].amount == Decimal("50.00")
    assert lines[("web", "base", "standard", 1)].quantity == Decimal(1)
    assert ("web", "surcharge", "standard", 1) not in lines  # 0 % at standard
    assert lines[("api", "base", "professional", 1)].amount == Decimal("150.00")
    surcharge = lines[("api", "surcharge", "professional", 1)]
    assert (surcharge.quantity, surcharge.unit_price, surcharge.amount) == (
        Decimal("66.96"),
        Decimal("0.1"),
        Decimal("6.70"),
    )
    charges = rating.rate("2026-10", org_id=acme)[acme]
    assert charges.subtotal == Decimal("66.96") * 2 + Decimal("14.88") + 50 + 150 + Decimal("6.70")
    assert charges.currency == "CHF" and charges.price_versions == [1]


def test_a_cluster_created_mid_month_pays_a_prorated_base_fee(acme):
    make_cluster(acme, "web", created=OCT + 10 * 24 * H + 30 * timedelta(minutes=1))
    meter_month()
    base = lines_by(acme)[("web", "base", "standard", 1)]
    # Created at 00:30 on the 11th: 21 days of hours, the first one billed in full.
    assert base.amount == money(Decimal(50) * 504 / OCT_HOURS) == Decimal("33.87")
    assert "504 of 744 hours" in base.description


def test_a_level_change_mid_month_splits_base_fee_and_surcharge(acme):
    web = make_cluster(acme, "web", created=OCT - H)
    meter(OCT + 100 * H, start=OCT)
    with session_scope() as s:
        c = s.get(Cluster, web)
        c.service_level = "premium"
        s.add(c)
    meter(NOV)
    lines = lines_by(acme)
    assert lines[("web", "base", "standard", 1)].amount == money(Decimal(50) * 100 / OCT_HOURS)
    assert lines[("web", "base", "premium", 1)].amount == money(Decimal(400) * 644 / OCT_HOURS)
    premium_nodes = money(Decimal("0.045") * 2 * 644)
    assert lines[("web", "surcharge", "premium", 1)].amount == money(premium_nodes / 4)
    nodes = [x for x in rating.rate("2026-10", org_id=acme)[acme].lines if x.component == "node"]
    assert sorted(x.quantity for x in nodes) == [200, 1288]


def test_a_price_change_mid_month_splits_lines_by_version(acme):
    make_cluster(acme, "web", created=OCT - H)
    change = OCT + 15 * 24 * H
    components = all_versions()[0].components
    add_version(change, node_hour={**components.node_hour, "sandbox/s-2": Decimal("0.050")})
    meter_month()
    lines = lines_by(acme)
    v1, v2 = lines[("web", "node", "sandbox/s-2", 1)], lines[("web", "node", "sandbox/s-2", 2)]
    assert (v1.quantity, v1.amount) == (720, Decimal("32.40"))
    assert (v2.quantity, v2.amount) == (768, Decimal("38.40"))
    assert v2.description.endswith("(prices v2)")
    base = [lines[("web", "base", "standard", v)].amount for v in (1, 2)]
    assert base == [Decimal("24.19"), Decimal("25.81")] and sum(base) == 50
    assert rating.rate("2026-10", org_id=acme)[acme].price_versions == [1, 2]


def test_load_balancers_and_storage_are_priced(acme):
    web = make_cluster(acme, "web", created=OCT - H)
    with session_scope() as s:
        s.add_all(
            [
                UsageRecord(
                    org_id=acme,
                    cluster_id=web,
                    hour=OCT + i * H,
                    service_level="standard",
                    component=component,
                    quantity=qty,
                )
                for i in range(OCT_HOURS)
                for component, qty in (("load_balancer", 2), ("storage", 100))
            ]
        )
    lines = lines_by(acme)
    lb = lines[("web", "load_balancer", "", 1)]
    assert (lb.quantity, lb.amount) == (1488, Decimal("22.32"))
    storage = lines[("web", "storage", "", 1)]
    assert (storage.quantity, storage.unit, storage.amount) == (
        Decimal(100),
        "GiB-month",
        Decimal("10.00"),
    )


def test_slo_credit_follows_the_level_policy(acme):
    from mkportal.models.billing import SloReport

    web = make_cluster(acme, "web", created=OCT - H, level="professional")
    meter_month()
    with session_scope() as s:
        s.add(
            SloReport(
                org_id=acme,
                cluster_id=web,
                period="2026-10",
                service_level="professional",
                availability=Decimal("99.1"),
                target=Decimal("99.5"),
            )
        )
    charges = rating.rate("2026-10", org_id=acme)[acme]
    (credit,) = charges.slo_credits
    assert credit.percent == Decimal(10)
    assert credit.amount == money(charges.subtotal / 10)
    assert "99.1 % below the target 99.5 %" in credit.reason


@pytest.mark.parametrize(
    ("missed", "percent"),
    [("0", 0), ("-1", 0), ("0.3", 10), ("0.5", 10), ("0.51", 25), ("2", 25), ("7", 100)],
)
def test_credit_percent_steps(missed, percent):
    policy = [
        {"missed_by_up_to": 5, "credit_percent": 100},
        {"missed_by_up_to": 0.5, "credit_percent": 10},
        {"missed_by_up_to": 2, "credit_percent": 25},
    ]
    assert rating.credit_percent(policy, Decimal(missed)) == percent
    assert rating.credit_percent([], Decimal(missed)) == 0


# ---- properties ---------------------------------------------------------------------------

money_st = st.decimals(min_value=0, max_value=100_000, places=2)


@given(subtotal=money_st, credits=st.lists(money_st, max_size=5))
def test_credits_never_take_the_total_below_zero(subtotal, credits):
    applied, total = rating.apply_credits(subtotal, credits)
    assert total == subtotal - applied
    assert 0 <= applied <= subtotal and total >= 0
    assert applied == min(sum(credits, Decimal(0)), subtotal)


@given(
    base=st.decimals(min_value=0, max_value=10_000, places=3),
    hours=st.integers(min_value=-1000, max_value=2000),
    period_hours=st.sampled_from([672, 696, 720, 743, 744, 745]),
)
def test_proration_is_never_negative_nor_above_a_month(base, hours, period_hours):
    fee = rating.prorate(base, hours, period_hours)
    assert 0 <= fee <= money(base)
    if hours >= period_hours:
        assert fee == money(base)
    if hours <= 0:
        assert fee == 0


@given(splits=st.lists(st.integers(min_value=0, max_value=744), min_size=1, max_size=4))
def test_prorated_base_fees_of_one_month_never_exceed_the_dearest_level(splits):
    """However a month is split between levels, the base fees stay within one month's."""
    bases = [Decimal(50), Decimal(150), Decimal(400), Decimal(0)]
    hours, left = [], OCT_HOURS
    for h in splits:
        hours.append(min(h, left))
        left -= hours[-1]
    fees = [rating.prorate(bases[i % 4], h, OCT_HOURS) for i, h in enumerate(hours)]
    assert all(f >= 0 for f in fees)
    assert sum(fees) <= max(bases) + Decimal("0.01") * len(fees)


def _reset_usage() -> None:
    with session_scope() as s:
        for table in (InvoiceLine, Credit, Invoice, UsageRecord, NodePool, Cluster, MeterCursor):
            s.exec(delete(table))
        s.exec(delete(PriceModel).where(PriceModel.version > 1))


cluster_st = st.tuples(
    st.integers(min_value=0, max_value=OCT_HOURS - 1),  # first hour
    st.integers(min_value=1, max_value=OCT_HOURS),  # hours alive
    st.integers(min_value=1, max_value=5),  # nodes
    st.sampled_from(["zero", "standard", "professional", "premium"]),
)


@DB_EXAMPLES
@given(
    change=st.integers(min_value=1, max_value=OCT_HOURS - 1),
    clusters=st.lists(cluster_st, min_size=1, max_size=3),
)
def test_every_hour_is_rated_once_across_two_price_versions(acme, change, clusters):
    _reset_usage()
    at = OCT + change * H
    components = all_versions()[0].components
    add_version(at, node_hour={**components.node_hour, "sandbox/s-2": Decimal("0.050")})
    records = []
    with session_scope() as s:
        for i, (first, alive, nodes, level) in enumerate(clusters):
            cid = f"c{i}"
            s.add(
                Cluster(
                    id=cid,
                    org_id=acme,
                    name=f"c{i}",
                    provider="sandbox",
                    region="r",
                    version="1.35",
                    service_level=level,
                    status="running",
                )  # fmt: skip
            )
            for h in range(first, min(first + alive, OCT_HOURS)):
                records.append((cid, h, nodes))
                for component, sku, qty in (
                    ("cluster", level, 1),
                    ("node", "sandbox/s-2", nodes),
                ):
                    s.add(
                        UsageRecord(
                            org_id=acme,
                            cluster_id=cid,
                            hour=OCT + h * H,
                            service_level=level,
                            component=component,
                            sku=sku,
                            pool="default" if sku != level else "",
                            quantity=qty,
                        )  # fmt: skip
                    )
    lines = rating.rate("2026-10", org_id=acme)[acme].lines
    node_lines = [x for x in lines if x.component == "node"]
    before = sum(n for _, h, n in records if h < change)
    after = sum(n for _, h, n in records if h >= change)
    assert sum(x.quantity for x in node_lines if x.price_version == 1) == before
    assert sum(x.quantity for x in node_lines if x.price_version == 2) == after
    for x in node_lines:
        price = Decimal("0.045") if x.price_version == 1 else Decimal("0.050")
        assert x.amount == money(x.quantity * price)
    for i, (first, alive, _nodes, level) in enumerate(clusters):
        hours = min(first + alive, OCT_HOURS) - first
        base = [x for x in lines if x.component == "base" and x.cluster_id == f"c{i}"]
        full = components.level_base_monthly[level]
        assert sum(x.amount for x in base) <= money(full) + Decimal("0.01")
        if not full:
            assert base == []
            continue
        fraction = sum((x.quantity for x in base), Decimal(0))
        assert abs(fraction - Decimal(hours) / OCT_HOURS) <= Decimal("0.00001") * len(base)


@settings(DB_EXAMPLES, max_examples=6)
@given(
    steps=st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=6),
    nodes=st.integers(min_value=1, max_value=4),
)
def test_metering_in_steps_equals_metering_once_and_rerunning_changes_nothing(acme, steps, nodes):
    _reset_usage()
    make_cluster(acme, "web", created=OCT - H, pools=(("default", "s-2", nodes),))
    make_cluster(acme, "db", created=OCT + 30 * H, level="premium", features={"log-agent": "ready"})
    meter(OCT)
    at = OCT
    for step in steps:
        at = min(at + step * H, NOV)
        meter(at)
        meter(at)  # a repeat
    meter(NOV)
    meter(NOV, start=OCT)
    stepped = _snapshot()
    first = rating.rate("2026-10", org_id=acme)
    assert rating.rate("2026-10", org_id=acme) == first
    _reset_usage()
    make_cluster(acme, "web", created=OCT - H, pools=(("default", "s-2", nodes),))
    make_cluster(acme, "db", created=OCT + 30 * H, level="premium", features={"log-agent": "ready"})
    meter(NOV, start=OCT)
    once = _snapshot()
    assert stepped == once
    assert len(once) == OCT_HOURS * 2 + (OCT_HOURS - 30) * 3
    again = rating.rate("2026-10", org_id=acme)[acme]
    assert [(x.description, x.amount) for x in again.lines] == [
        (x.description, x.amount) for x in first[acme].lines
    ]


def _snapshot() -> list[tuple]:
    with session_scope() as s:
        rows = s.exec(
            select(Cluster.name, UsageRecord).join(Cluster, Cluster.id == UsageRecord.cluster_id)
        ).all()
        return sorted(
            (name, r.hour, r.component, r.sku, r.pool, r.quantity, r.service_level)
            for name, r in rows
        )


@DB_EXAMPLES
@given(
    nodes=st.integers(min_value=1, max_value=6),
    credits=st.lists(st.decimals(min_value=1, max_value=500, places=2), max_size=4),
)
def test_invoice_total_is_the_sum_of_lines_less_credits(acme, nodes, credits):
    _reset_usage()
    make_cluster(acme, "web", created=OCT - H, pools=(("default", "m-8", nodes),))
    meter_month()
    with session_scope() as s:
        for amount in credits:
            s.add(Credit(org_id=acme, period="2026-10", amount=amount, reason="goodwill"))
    actor = Actor.system("test")
    ids, _ = invoices.build_drafts("2026-10", actor=actor, org_id=acme)
    with session_scope() as s:
        inv = s.get(Invoice, ids[0])
        lines = s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)).all()
        assert s.get(Organization, acme) is not None
    subtotal = sum((x.amount for x in lines), Decimal(0))
    assert inv.subtotal == subtotal
    assert inv.credit_total == min(sum(credits, Decimal(0)), subtotal)
    assert inv.total == subtotal - inv.credit_total >= 0
