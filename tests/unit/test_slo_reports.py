"""SLO reports: the math, Prometheus and incident sources, roll-ups, CSV, isolation, tick."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.billing import SloReport
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Incident
from mkportal.models.org import Organization
from mkportal.services.errors import NotFound
from mkportal.services.metrics import prom, slo, slo_reports
from mkportal.services.metrics.prom import Sample
from mkportal.settings import get_settings

OCT = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD = "2026-10"
OCT_MINUTES = 31 * 24 * 60


def cluster(org_id: str, name: str, level: str = "professional", **kw) -> str:
    """Insert a cluster created before October."""
    with session_scope() as s:
        c = Cluster(org_id=org_id, name=name, provider="sandbox", region="ch-gva-2",
                    version="1.35", service_level=level, created_at=OCT - timedelta(days=30),
                    **kw)  # fmt: skip
        s.add(c)
        s.flush()
        return c.id


def down(cluster_id: str, start: datetime, minutes: int, fp: str = "f1") -> None:
    """Insert a resolved ClusterApiServerDown incident."""
    with session_scope() as s:
        s.add(Incident(fingerprint=fp, starts_at=start, alertname="ClusterApiServerDown",
                       cluster_id=cluster_id, status="resolved",
                       ends_at=start + timedelta(minutes=minutes)))  # fmt: skip


@pytest.fixture
def no_prometheus(monkeypatch):
    def unavailable(*_a, **_k):
        raise prom.MetricsUnavailable("not installed")

    monkeypatch.setattr(slo.prom, "query", unavailable)


@pytest.mark.parametrize(
    ("availability", "target", "used"),
    [("100", "99.5", "0.00"), ("99.75", "99.5", "50.00"), ("99", "99.5", "200.00"),
     ("99.9", None, "0")],
    ids=["none", "half", "double", "no-target"],
)  # fmt: skip
def test_error_budget_used(availability, target, used):
    t = Decimal(target) if target else None
    assert slo.error_budget_used(Decimal(availability), t) == Decimal(used)


def test_merge_minutes_unions_and_clips():
    t = OCT
    spans = [(t, t + timedelta(minutes=30)), (t + timedelta(minutes=20), t + timedelta(minutes=50)),
             (t - timedelta(minutes=10), t + timedelta(minutes=5)),
             (t + timedelta(hours=2), t + timedelta(hours=3))]  # fmt: skip
    assert slo.merge_minutes(spans, t, t + timedelta(hours=2, minutes=30)) == 80


def test_fallback_from_incidents(two_orgs, no_prometheus):
    acme = two_orgs["acme_owner"].org_id
    web = cluster(acme, "web")
    down(web, OCT + timedelta(days=3), 90)
    down(web, OCT + timedelta(days=3, minutes=60), 60, fp="f2")  # overlaps: 120 min in all
    down(web, OCT - timedelta(minutes=30), 40, fp="f3")  # 10 minutes inside October
    result = slo.generate(two_orgs["operator"], PERIOD)
    assert (result.written, result.incidents, result.final) == (1, 1, True)
    with session_scope() as s:
        r = s.exec(select(SloReport)).one()
    assert (r.source, r.downtime_minutes, r.observed_minutes) == ("incidents", 130, OCT_MINUTES)
    assert r.availability == Decimal("99.7088") and r.target == Decimal("99.5")
    assert r.error_budget_used == Decimal("58.24") and r.incidents == 2 and r.final


def test_from_prometheus_and_credit(two_orgs, monkeypatch):
    acme = two_orgs["acme_owner"].org_id
    web = cluster(acme, "web")
    cluster(acme, "api", level="zero")
    seen = []

    def query(promql, at=None):
        seen.append((promql, at))
        labels = {"org": acme, "cluster": web}
        return [Sample(labels, 0.99 if promql.startswith("avg") else float(OCT_MINUTES))]

    monkeypatch.setattr(slo.prom, "query", query)
    result = slo.generate(two_orgs["operator"], PERIOD, org_id=acme)
    assert (result.prometheus, result.incidents) == (1, 1)
    assert seen[0] == (
        f'avg_over_time(cluster:apiserver_available:bool{{org="{acme}"}}[{OCT_MINUTES * 60}s:1m])',
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    data = slo_reports.summary(two_orgs["acme_viewer"], PERIOD)
    by_name = {r.cluster_name: r for r in data.rows}
    assert by_name["web"].source == "prometheus" and by_name["web"].availability == Decimal(99)
    assert by_name["web"].downtime_minutes == 446 and not by_name["web"].met
    assert by_name["web"].credit_percent == Decimal(10)  # missed by 0.5 points
    assert by_name["api"].met and by_name["api"].credit_percent == 0  # no target
    assert data.fleet.clusters == 2 and data.fleet.missed == 1
    assert data.fleet.availability == Decimal("99.5004")  # 446 of 89,280 minutes down


def test_manual_reports_are_kept(two_orgs, no_prometheus):
    web = cluster(two_orgs["acme_owner"].org_id, "web")
    with session_scope() as s:
        s.add(SloReport(org_id=two_orgs["acme_owner"].org_id, cluster_id=web, period=PERIOD,
                        service_level="professional", availability=Decimal("98"),
                        target=Decimal("99.5")))  # fmt: skip
    result = slo.generate(two_orgs["operator"], PERIOD)
    assert (result.written, result.manual_kept) == (0, 1)
    with session_scope() as s:
        assert s.exec(select(SloReport)).one().availability == Decimal(98)


def test_running_month_is_not_final_and_dead_clusters_are_skipped(two_orgs, no_prometheus):
    acme = two_orgs["acme_owner"].org_id
    cluster(acme, "web")
    cluster(acme, "gone", deleted_at=OCT - timedelta(days=1))
    now = datetime.now(UTC).strftime("%Y-%m")
    result = slo.generate(two_orgs["operator"], now)
    assert result.written == 1 and not result.final
    again = slo.generate(two_orgs["operator"], now)
    assert again.written == 1
    with session_scope() as s:
        assert len(s.exec(select(SloReport)).all()) == 1


def test_unreachable_prometheus_falls_back_fast(two_orgs, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    cluster(two_orgs["acme_owner"].org_id, "web")
    with pytest.raises(prom.MetricsUnavailable):
        slo.from_prometheus(OCT, 60, None)
    assert slo.generate(two_orgs["operator"], PERIOD).incidents == 1


def test_only_operators_generate(two_orgs, no_prometheus):
    with pytest.raises(NotFound):
        slo.generate(two_orgs["acme_owner"], PERIOD)


def test_members_see_only_their_own_org(two_orgs, no_prometheus):
    acme, globex = two_orgs["acme_owner"].org_id, two_orgs["globex_owner"].org_id
    cluster(acme, "web")
    cluster(globex, "shop")
    slo.generate(two_orgs["operator"], PERIOD)
    assert [r.cluster_name for r in slo_reports.summary(two_orgs["globex_owner"], PERIOD).rows] == [
        "shop"
    ]
    with pytest.raises(NotFound):
        slo_reports.summary(two_orgs["globex_owner"], PERIOD, org_id=acme)
    assert "web" not in slo_reports.export_csv(two_orgs["globex_owner"], PERIOD)
    fleet = slo_reports.summary(two_orgs["operator"], PERIOD)
    assert [o.name for o in fleet.orgs] == ["Acme", "Globex"] and fleet.fleet.clusters == 2
    assert len(slo_reports.summary(two_orgs["operator"], PERIOD, org_id=acme).rows) == 1


def test_csv_export_escapes_formulas(two_orgs, no_prometheus):
    acme = two_orgs["acme_owner"].org_id
    cluster(acme, "web")
    with session_scope() as s:
        s.get(Organization, acme).name = "=HYPERLINK(1)"
    slo.generate(two_orgs["operator"], PERIOD)
    rows = list(csv.DictReader(io.StringIO(slo_reports.export_csv(two_orgs["operator"], PERIOD))))
    assert len(rows) == 1 and tuple(rows[0]) == slo_reports.CSV_COLUMNS
    assert rows[0]["org_name"] == "'=HYPERLINK(1)"
    assert (rows[0]["availability"], rows[0]["met"], rows[0]["final"]) == (
        "100.0000",
        "true",
        "true",
    )


def test_daily_refresh_runs_once_a_day_and_finalises(two_orgs, no_prometheus):
    cluster(two_orgs["acme_owner"].org_id, "web")
    first_of_nov = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
    with session_scope() as s:
        s.add(SloReport(org_id=two_orgs["acme_owner"].org_id, cluster_id="x" * 32,
                        period=PERIOD, service_level="zero", availability=Decimal(100),
                        target=Decimal(0), source="incidents", final=False))  # fmt: skip
    assert slo.daily_refresh(first_of_nov) == [PERIOD, "2026-11"]
    assert slo.daily_refresh(first_of_nov + timedelta(hours=1)) == []
    with session_scope() as s:
        october = s.exec(select(SloReport).where(SloReport.cluster_id != "x" * 32,
                                                 SloReport.period == PERIOD)).one()  # fmt: skip
    assert october.final


@pytest.mark.postgres
def test_generate_and_read_on_postgres(pg_db, no_prometheus):
    from tests.conftest import make_two_orgs

    orgs = make_two_orgs()
    web = cluster(orgs["acme_owner"].org_id, "web")
    down(web, OCT + timedelta(days=3), 90)
    assert slo.generate(orgs["operator"], PERIOD).written == 1
    assert slo.generate(orgs["operator"], PERIOD).written == 1
    (row,) = slo_reports.summary(orgs["acme_viewer"], PERIOD).rows
    assert (row.downtime_minutes, row.availability) == (90, Decimal("99.7984"))
    assert slo_reports.summary(orgs["globex_owner"], PERIOD).rows == []
