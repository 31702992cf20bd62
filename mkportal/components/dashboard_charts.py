"""Plotly figures of explorer and dashboard panels: line, area, bar or a single stat.

The builders take plain dicts (``{"name", "x": [ISO times], "y": [...]}`` per series, as
`services.metrics.explorer.ChartSeries`), so the state can rebuild figures without
calling services. Thresholds are drawn as dashed horizontal lines; a stat takes the
colour of the highest threshold its value reaches.
"""

from __future__ import annotations

import plotly.graph_objects as go

from mkportal.components.metrics_charts import MAX_LINES, PALETTE, time_layout

COLORS = {
    "red": "#e5484d",
    "orange": "#f76b15",
    "yellow": "#ffc53d",
    "green": "#30a46c",
    "blue": "#3e63dd",
    "purple": "#8e4ec6",
    "gray": "#8b8d98",
}
FEW_POINTS = 20


def color(name: str) -> str:
    """Return the CSS colour of a threshold colour name (or the #rrggbb given)."""
    return COLORS.get(name, name)


def last_value(series: list[dict]) -> float | None:
    """Return the newest non-empty value of the first series that has one."""
    for s in series:
        for v in reversed(s.get("y", [])):
            if v is not None:
                return float(v)
    return None


def _stat(series: list[dict], unit: str, thresholds: list[dict], height: int) -> go.Figure:
    value = last_value(series)
    tone = PALETTE[0]
    for t in sorted(thresholds, key=lambda t: t["value"]):
        if value is not None and value >= t["value"]:
            tone = color(t["color"])
    fig = go.Figure(
        go.Indicator(
            mode="number",
            value=value,
            number={"suffix": f" {unit}" if unit else "", "font": {"color": tone}},
        )
    )
    fig.update_layout(
        template="none",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def panel_figure(
    series: list[dict],
    chart: str = "line",
    unit: str = "",
    thresholds: list[dict] | None = None,
    *,
    window: tuple[str, str] | None = None,
    height: int = 260,
) -> go.Figure:
    """Draw a panel: up to 12 series as lines, stacked areas or bars, or one stat.

    Args:
        series: ``{"name", "x", "y"}`` dicts; x are ISO times.
        chart: line, area, bar or stat.
        unit: The y-axis title (or the stat's suffix).
        thresholds: ``{"value", "color"}`` dicts.
        window: The (start, end) ISO times the x axis spans (default: the data).
        height: Figure height in pixels.
    """
    thresholds = thresholds or []
    if chart == "stat":
        return _stat(series, unit, thresholds, height)
    fig = go.Figure()
    for i, s in enumerate(series[:MAX_LINES]):
        tone = PALETTE[i % len(PALETTE)]
        common = {"name": s["name"], "x": s["x"], "y": s["y"]}
        if chart == "bar":
            fig.add_bar(**common, marker_color=tone)
        else:
            fig.add_scatter(
                **common,
                mode="lines" if len(s["x"]) > FEW_POINTS else "lines+markers",
                line={"width": 1.6, "color": tone},
                stackgroup="one" if chart == "area" else None,
            )
    for t in thresholds:
        fig.add_hline(y=t["value"], line_dash="dash", line_color=color(t["color"]), line_width=1)
    fig = time_layout(fig, height=height, yaxis={"title": {"text": unit}})
    if window and window[0] and window[1]:
        fig.update_xaxes(range=list(window))
    if chart == "bar":
        fig.update_layout(barmode="stack")
    return fig
