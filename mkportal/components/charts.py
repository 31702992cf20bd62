"""Plotly charts of money: usage by cluster and component, monthly history, revenue.

The figure builders take plain rows (no services) and return small figures: the empty
``"none"`` template keeps plotly's default theme (several kB) out of the Reflex state.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import plotly.graph_objects as go
import reflex as rx

COMPONENT_COLORS = {
    "base": "#8e4ec6",
    "node": "#3e63dd",
    "feature": "#12a594",
    "load_balancer": "#f76b15",
    "storage": "#ad7f58",
    "surcharge": "#e54666",
}
COMPONENT_NAMES = {
    "base": "Service level base fee",
    "node": "Nodes",
    "feature": "Features",
    "load_balancer": "Load balancers",
    "storage": "Storage",
    "surcharge": "Service level surcharge",
}
STATUS_COLORS = {
    "running": "#8da4ef",
    "unbilled": "#b9bbc6",
    "finalized": "#3e63dd",
    "sent": "#3e63dd",
    "paid": "#30a46c",
    "payment_failed": "#e5484d",
    "void": "#d9d9e0",
}
OUTSTANDING_COLOR = "#f76b15"
MAX_CLUSTERS = 20


def _layout(fig: go.Figure, currency: str, *, stacked: bool, height: int = 320) -> go.Figure:
    fig.update_layout(
        template="none",
        barmode="stack" if stacked else "group",
        height=height,
        margin={"l": 60, "r": 10, "t": 24, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        yaxis={"title": {"text": currency}, "gridcolor": "#e8e8ec", "rangemode": "tozero"},
        xaxis={"type": "category"},
        font={"family": "Inter, system-ui, sans-serif", "size": 12},
        hovermode="x",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def _num(value: Decimal | str | float) -> float:
    return round(float(Decimal(str(value))), 2)


def usage_figure(rows: Iterable[dict], currency: str = "CHF") -> go.Figure:
    """Stack each cluster's charges by component.

    Args:
        rows: ``{"cluster", "component", "amount"}`` per cluster and component.
        currency: The axis title.

    """
    rows = _top_clusters(list(rows))
    clusters = list(dict.fromkeys(r["cluster"] for r in rows))
    order = list(COMPONENT_NAMES)
    components = sorted(
        {r["component"] for r in rows}, key=lambda c: (order.index(c) if c in order else 99, c)
    )
    fig = go.Figure()
    for comp in components:
        by_cluster: dict[str, Decimal] = {}
        for r in rows:
            if r["component"] == comp:
                by_cluster[r["cluster"]] = by_cluster.get(r["cluster"], Decimal(0)) + Decimal(
                    str(r["amount"])
                )
        fig.add_bar(
            name=COMPONENT_NAMES.get(comp, comp),
            x=clusters,
            y=[_num(by_cluster.get(c, 0)) for c in clusters],
            marker_color=COMPONENT_COLORS.get(comp),
            hovertemplate="%{x}: %{y:.2f} " + currency + "<extra>%{fullData.name}</extra>",
            # A few clusters get narrower bars instead of bars across the whole chart.
            width=0.3 if len(clusters) <= 3 else None,
        )
    fig = _layout(fig, currency, stacked=True)
    if len(clusters) > 12:
        fig.update_xaxes(tickangle=-45)
    return fig


def _top_clusters(rows: list[dict], top: int = MAX_CLUSTERS) -> list[dict]:
    """Keep the `top` most expensive clusters (by name) and sum the others into one bar."""
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r["cluster"]] = totals.get(r["cluster"], Decimal(0)) + Decimal(str(r["amount"]))
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    if len(ranked) <= top:
        keep = sorted(ranked)
        return sorted(rows, key=lambda r: keep.index(r["cluster"]))
    keep = sorted(ranked[:top])
    other = f"{len(ranked) - top} other clusters"
    out = [r for r in rows if r["cluster"] in keep]
    out.sort(key=lambda r: keep.index(r["cluster"]))
    out += [{**r, "cluster": other} for r in rows if r["cluster"] not in keep]
    return out


def history_figure(
    months: Iterable[dict], currency: str = "CHF", periods: list[str] | None = None
) -> go.Figure:
    """Draw one bar per month, coloured by the invoice status (or the running estimate).

    Args:
        months: ``{"period", "amount", "status"}``, oldest first.
        currency: The axis title.
        periods: Every month the axis shows, oldest first (months without a bar too).

    """
    months = list(months)
    axis = periods or [m["period"] for m in months]
    fig = go.Figure()
    # An invisible trace keeps months without an invoice on the axis.
    fig.add_bar(
        x=axis, y=[0] * len(axis), showlegend=False, hoverinfo="skip", marker_color="rgba(0,0,0,0)"
    )
    for status in sorted({m["status"] for m in months}):
        chosen = [m for m in months if m["status"] == status]
        fig.add_bar(
            name=status.replace("_", " "),
            x=[m["period"] for m in chosen],
            y=[_num(m["amount"]) for m in chosen],
            marker_color=STATUS_COLORS.get(status, OUTSTANDING_COLOR),
            hovertemplate="%{x}: %{y:.2f} " + currency + "<extra>%{fullData.name}</extra>",
        )
    fig = _layout(fig, currency, stacked=True, height=260)
    fig.update_xaxes(categoryorder="array", categoryarray=axis)
    return fig


def revenue_figure(rows: Iterable[dict], currency: str = "CHF") -> go.Figure:
    """Stack paid and outstanding revenue per month, with credits as a line.

    Args:
        rows: ``{"period", "paid", "outstanding", "credits"}``, oldest first.
        currency: The axis title.

    """
    rows = list(rows)
    periods = [r["period"] for r in rows]
    fig = go.Figure()
    fig.add_bar(
        name="Paid",
        x=periods,
        y=[_num(r["paid"]) for r in rows],
        marker_color=STATUS_COLORS["paid"],
    )
    fig.add_bar(
        name="Outstanding",
        x=periods,
        y=[_num(r["outstanding"]) for r in rows],
        marker_color=OUTSTANDING_COLOR,
    )
    fig.add_scatter(
        name="Credits",
        x=periods,
        y=[_num(r["credits"]) for r in rows],
        mode="lines+markers",
        line={"color": "#e54666"},
    )
    return _layout(fig, currency, stacked=True)


def chart(figure: rx.Var, test_id: str, label: str) -> rx.Component:
    """Render a figure full width, without plotly's toolbar, labelled for screen readers."""
    return rx.box(
        rx.plotly(
            data=figure,
            config={"displayModeBar": False, "responsive": True},
            use_resize_handler=True,
            width="100%",
        ),
        role="img",
        aria_label=label,
        data_testid=test_id,
        width="100%",
    )
