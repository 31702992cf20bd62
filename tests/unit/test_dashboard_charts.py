"""Panel figures: line/area/bar traces, thresholds as lines, stat colour by threshold."""

from __future__ import annotations

import pytest

from mkportal.components.dashboard_charts import last_value, panel_figure

SERIES = [
    {
        "name": "a",
        "x": ["2026-11-25T00:00:00+00:00", "2026-11-25T00:01:00+00:00"],
        "y": [1.0, None],
    },
    {"name": "b", "x": ["2026-11-25T00:00:00+00:00"], "y": [3.0]},
]


@pytest.mark.parametrize(
    ("chart", "trace", "stack"),
    [("line", "scatter", None), ("area", "scatter", "one"), ("bar", "bar", None)],
    ids=["line", "area", "bar"],
)
def test_series_charts(chart, trace, stack):
    fig = panel_figure(SERIES, chart, "%", [{"value": 2, "color": "red"}])
    assert [t.type for t in fig.data] == [trace, trace]
    if trace == "scatter":
        assert fig.data[0].stackgroup == stack
    assert fig.layout.shapes[0].y0 == 2 and fig.layout.shapes[0].line.color == "#e5484d"
    assert fig.layout.yaxis.title.text == "%"


def test_stat_takes_the_colour_of_the_highest_reached_threshold():
    fig = panel_figure(
        SERIES, "stat", "req/s", [{"value": 0.5, "color": "orange"}, {"value": 5, "color": "red"}]
    )
    ind = fig.data[0]
    assert ind.type == "indicator" and ind.value == 1.0 and ind.number.font.color == "#f76b15"
    assert ind.number.suffix == " req/s"


def test_last_value_and_empty():
    assert last_value(SERIES) == 1.0
    assert last_value([]) is None
    assert panel_figure([], "stat").data[0].value is None


def test_window_sets_the_x_range():
    window = ("2026-11-25T00:00:00+00:00", "2026-11-25T01:00:00+00:00")
    fig = panel_figure(SERIES, "line", window=window)
    assert tuple(fig.layout.xaxis.range) == window
