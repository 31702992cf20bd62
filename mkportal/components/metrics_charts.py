"""Plotly figures of metric series (time on x) and the health tiles' formatting.

The builders take plain dicts (no services): ``{"name", "x": [unix seconds], "y": [...]}``
per series, so the state can keep the raw series backend-only and rebuild figures.
"""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go

PALETTE = ("#3e63dd", "#12a594", "#f76b15", "#8e4ec6", "#e54666", "#ad7f58", "#0090ff", "#30a46c")
AXIS_FORMAT = {"ratio": ".2~%", "percent": ".1f", "seconds": ",.0f", "count": ",d", "rps": ".2f"}
UNIT_TITLE = {"ratio": "", "percent": "%", "seconds": "ms", "count": "", "rps": "req/s"}
UNIT_SCALE = {"seconds": 1000.0}
MAX_LINES = 12
FEW_POINTS = 30


def time_layout(
    fig: go.Figure, *, height: int, yaxis: dict, xaxis: dict | None = None
) -> go.Figure:
    """Apply the metric charts' common layout: time on x, legend below, light grid.

    `yaxis` and `xaxis` add to (or override) the axes' defaults.
    """
    fig.update_layout(
        template="none",
        height=height,
        margin={"l": 55, "r": 10, "t": 10, "b": 30},
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        yaxis={"gridcolor": "#e8e8ec", **yaxis},
        xaxis={"type": "date", "gridcolor": "#f0f0f3", **(xaxis or {})},
        font={"family": "Inter, system-ui, sans-serif", "size": 11},
        hovermode="x unified",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def series_figure(
    series: list[dict],
    unit: str,
    *,
    x_range: tuple[float, float] | None = None,
    height: int = 240,
) -> go.Figure:
    """Draw one line per series (at most 12, by name) over time.

    Args:
        series: ``{"name", "x", "y"}`` dicts; x are unix seconds.
        unit: One of ratio, percent, seconds (drawn in ms), count, rps (axis format, title).
        x_range: The dashboard's (start, end) in unix seconds; the axis spans it all.
        height: Figure height in pixels.
    """
    fig = go.Figure()
    scale = UNIT_SCALE.get(unit, 1.0)
    for i, s in enumerate(series[:MAX_LINES]):
        fig.add_scatter(
            name=s["name"],
            x=[_iso(t) for t in s["x"]],
            y=[v * scale for v in s["y"]],
            mode="lines+markers" if len(s["x"]) < FEW_POINTS else "lines",
            marker={"size": 4},
            line={"width": 1.6, "color": PALETTE[i % len(PALETTE)]},
            hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>",
        )
    return time_layout(
        fig,
        height=height,
        yaxis={
            "title": {"text": UNIT_TITLE.get(unit, "")},
            "tickformat": AXIS_FORMAT.get(unit, ""),
            "rangemode": "tozero",
        },
        xaxis={"range": [_iso(x_range[0]), _iso(x_range[1])]} if x_range else None,
    )


def percent(value: float | None, digits: int = 2) -> str:
    """Format a 0..1 ratio as a percentage ("–" without data)."""
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def seconds(value: float | None) -> str:
    """Format a latency in ms or s ("–" without data)."""
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
