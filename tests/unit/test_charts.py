"""The billing charts' figures and the money formats the billing pages show."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from mkportal.components.charts import history_figure, revenue_figure, usage_figure
from mkportal.services.clusters.quotes import CostImpact, ImpactLine
from mkportal.state.billing import estimate_by_cluster, recent_periods
from mkportal.state.cost import amount, impact_lines, impact_summary, signed


def test_usage_figure_stacks_components_per_cluster():
    rows = [
        {"cluster": "web", "component": "node", "amount": Decimal("10.50")},
        {"cluster": "web", "component": "base", "amount": Decimal("50")},
        {"cluster": "db", "component": "node", "amount": Decimal("20")},
    ]
    fig = usage_figure(rows, "CHF")
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["Service level base fee", "Nodes"]
    nodes = fig.data[1]
    assert list(nodes.x) == ["db", "web"] and list(nodes.y) == [20.0, 10.5]
    assert fig.layout.template.layout.to_plotly_json() == {}
    assert len(fig.to_json()) < 3000


def test_usage_figure_sums_the_smallest_clusters():
    rows = [
        {"cluster": f"c{i:02d}", "component": "node", "amount": Decimal(i + 1)} for i in range(25)
    ]
    fig = usage_figure(rows)
    x = list(fig.data[0].x)
    assert len(x) == 21 and x[-1] == "5 other clusters"
    assert fig.data[0].y[-1] == float(sum(range(1, 6)))
    assert fig.layout.xaxis.tickangle == -45


def test_history_keeps_every_month_on_the_axis():
    periods = recent_periods(datetime(2026, 3, 5))[::-1]
    assert periods[0] == "2025-04" and periods[-1] == "2026-03"
    fig = history_figure(
        [
            {"period": "2026-01", "amount": Decimal("100"), "status": "paid"},
            {"period": "2026-03", "amount": Decimal("12.3"), "status": "running"},
        ],
        periods=periods,
    )
    assert list(fig.layout.xaxis.categoryarray) == periods
    assert {t.name for t in fig.data if t.showlegend is not False} == {"paid", "running"}


def test_revenue_figure_has_paid_outstanding_and_credits():
    fig = revenue_figure(
        [{"period": "2026-01", "paid": "10", "outstanding": "5", "credits": "1"}], "EUR"
    )
    assert [t.name for t in fig.data] == ["Paid", "Outstanding", "Credits"]
    assert fig.layout.yaxis.title.text == "EUR"


def test_money_formats():
    assert amount(Decimal("1234.5"), "CHF") == "1,234.50 CHF"
    assert signed(Decimal("12.4"), "CHF") == "+12.40 CHF"
    assert signed(Decimal("-3"), "CHF") == "-3.00 CHF"
    assert signed(Decimal(0)) == "±0.00"
    impact = CostImpact(
        "CHF",
        Decimal("100"),
        Decimal("112.40"),
        [ImpactLine("a", Decimal(0), Decimal("12.40")), ImpactLine("b", Decimal(5), Decimal(5))],
        Decimal("90"),
        Decimal("150"),
    )
    summary = impact_summary(impact, True)
    assert summary["difference"] == "+12.40 CHF/month" and summary["tone"] == "up"
    assert "between 90.00 CHF and 150.00 CHF" in summary["range"]
    assert [line["label"] for line in impact_lines(impact)] == ["a"]


def test_estimate_table_keeps_the_ten_largest_clusters():
    lines = [
        SimpleNamespace(
            cluster_id=f"id{i}",
            cluster_name=f"c{i:02d}",
            to_date=Decimal(i),
            projected=Decimal(i * 2),
        )
        for i in range(1, 13)
    ]
    rows = estimate_by_cluster(SimpleNamespace(lines=lines, currency="CHF"))
    assert [r["cluster"] for r in rows[:2]] == ["c12", "c11"]
    assert rows[-1] == {
        "cluster": "2 other clusters",
        "to_date": "3.00 CHF",
        "projected": "6.00 CHF",
    }
