"""The log browser's parts: time range and filters, lines with highlights, context, histogram.

The parts take a state class that mixes in `LogBrowserMixin` (mkportal/state/cluster_logs.py)
so that the cluster's Logs tab and the operators' /admin/logs share them. A shown line is a
dict ``{"id", "ts", "level", "source", "parts": [{"t": text, "h": "1" or ""}]}``; parts
with ``h`` set are the matched search terms and are drawn as <mark>.
"""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go
import reflex as rx

from mkportal.components.charts import chart
from mkportal.components.ui import field_error, labelled_input

LEVEL_COLORS = {
    "debug": "gray",
    "info": "blue",
    "warn": "amber",
    "error": "red",
    "fatal": "crimson",
    "unknown": "gray",
}
LEVEL_BAR_COLORS = {
    "debug": "#b9bbc6",
    "info": "#3e63dd",
    "warn": "#ffc53d",
    "error": "#e5484d",
    "fatal": "#8e1f2a",
    "unknown": "#d9d9e0",
}
PRESETS = [("15m", "15 min"), ("1h", "1 h"), ("24h", "24 h"), ("7d", "7 d"), ("custom", "Custom")]
LEVEL_OPTIONS = [("all", "Any level"), *[(lv, lv) for lv in LEVEL_COLORS if lv != "unknown"]]
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"


def histogram_figure(buckets: Iterable[dict]) -> go.Figure:
    """Stack the lines of each time bucket by level.

    Args:
        buckets: ``{"start": label, "levels": {level: count}}``, oldest first.

    """
    buckets = list(buckets)
    x = [b["start"] for b in buckets]
    fig = go.Figure()
    seen = {lv for b in buckets for lv, n in b["levels"].items() if n}
    for level in [lv for lv in LEVEL_BAR_COLORS if lv in seen] or ["info"]:
        fig.add_bar(
            name=level,
            x=x,
            y=[b["levels"].get(level, 0) for b in buckets],
            marker_color=LEVEL_BAR_COLORS[level],
            hovertemplate="%{x}: %{y} lines<extra>%{fullData.name}</extra>",
        )
    peak = max((sum(b["levels"].values()) for b in buckets), default=0)
    fig.update_layout(
        template="none",
        barmode="stack",
        bargap=0.1,
        height=180,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.35},
        yaxis={
            "title": {"text": "lines"},
            "gridcolor": "#e8e8ec",
            "rangemode": "tozero",
            "tickformat": ",d",
            **({"dtick": 1} if peak < 5 else {}),
        },
        xaxis={"type": "category", "nticks": 8},
        font={"family": "Inter, system-ui, sans-serif", "size": 11},
        hovermode="x",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def level_badge(level: rx.Var) -> rx.Component:
    """Render a log level as a small coloured badge."""
    return rx.badge(
        level,
        color_scheme=rx.match(level, *LEVEL_COLORS.items(), "gray"),
        variant="soft",
        size="1",
        min_width="3.2rem",
        justify_content="center",
    )


def highlighted(parts: rx.Var) -> rx.Component:
    """Render a message from its parts, with the matched terms marked."""
    return rx.el.span(
        rx.foreach(
            parts.to(list[dict[str, str]]),
            lambda p: rx.cond(
                p["h"] != "",
                rx.el.mark(
                    p["t"],
                    background="var(--amber-5)",
                    color="inherit",
                    border_radius="2px",
                    padding="0 1px",
                ),
                rx.el.span(p["t"]),
            ),
        ),
        white_space="pre-wrap",
        overflow_wrap="anywhere",
    )


def _line(line: rx.Var, on_select, selected: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(line["ts"], size="1", color_scheme="gray", white_space="nowrap", font_family=MONO),
        level_badge(line["level"].to(str)),
        rx.text(
            line["source"],
            size="1",
            color_scheme="gray",
            white_space="nowrap",
            max_width="16rem",
            overflow="hidden",
            text_overflow="ellipsis",
            title=line["source"].to(str),
        ),
        rx.text(highlighted(line["parts"]), size="1", font_family=MONO, flex="1"),
        spacing="2",
        align="start",
        width="100%",
        padding="0.15rem 0.4rem",
        border_radius="var(--radius-1)",
        background=rx.cond(selected == line["id"].to(str), "var(--accent-4)", "transparent"),
        _hover={"background": "var(--gray-3)"},
        **(
            {
                "on_click": on_select(line["id"]),
                "cursor": "pointer",
                "role": "button",
                "tab_index": 0,
                "aria_label": "Show the lines around " + line["ts"].to(str),
            }
            if on_select is not None
            else {}
        ),
        data_testid="log-line",
    )


def log_lines(
    lines: rx.Var, *, on_select=None, selected: rx.Var | str = "", test_id: str = "log-lines"
) -> rx.Component:
    """Render lines in a monospace list; clicking one calls `on_select(line_id)`."""
    return rx.vstack(
        rx.foreach(lines, lambda ln: _line(ln, on_select, selected)),
        spacing="0",
        width="100%",
        data_testid=test_id,
    )


def time_range(state: type[rx.State]) -> rx.Component:
    """Render the preset buttons (15 min, 1 h, 24 h, 7 d, custom) of the time range."""
    return rx.vstack(
        rx.el.label("Time range", class_name="mk-label"),
        rx.hstack(
            *[
                rx.button(
                    label,
                    size="1",
                    variant=rx.cond(state.range_preset == value, "solid", "soft"),
                    on_click=state.set_range(value),
                    aria_pressed=rx.cond(state.range_preset == value, "true", "false"),
                )
                for value, label in PRESETS
            ],
            spacing="1",
        ),
        spacing="1",
    )


def _select(label: str, html_id: str, name: str, options: list, default: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=html_id, class_name="mk-label"),
        rx.select.root(
            rx.select.trigger(id=html_id, aria_label=label, width="100%"),
            rx.select.content(*[rx.select.item(text, value=value) for value, text in options]),
            name=name,
            default_value=default,
        ),
        spacing="1",
        width="100%",
    )


def filters(state: type[rx.State], *, components: list[tuple[str, str]] | None = None):  # noqa: ANN201
    """Render the time range, the filters and the search box as one form.

    With `components` (the control-plane view) a component select replaces namespace, pod
    and container.
    """
    if components is None:
        fields = [
            labelled_input("Namespace", "log-namespace", name="namespace", placeholder="any"),
            labelled_input("Pod", "log-pod", name="pod", placeholder="any"),
            labelled_input("Container", "log-container", name="container", placeholder="any"),
        ]
    else:
        fields = [
            _select(
                "Component",
                "log-component",
                "component",
                [("all", "Any component"), *components],
                "all",
            )
        ]
    return rx.vstack(
        time_range(state),
        rx.form(
            rx.vstack(
                rx.cond(
                    state.range_preset == "custom",
                    rx.hstack(
                        labelled_input(
                            "From (UTC)",
                            "log-start",
                            name="start",
                            type="datetime-local",
                            default_value=state.custom_start,
                        ),
                        labelled_input(
                            "To (UTC)",
                            "log-end",
                            name="end",
                            type="datetime-local",
                            default_value=state.custom_end,
                        ),
                        width="100%",
                        max_width="32rem",
                    ),
                ),
                rx.grid(
                    *fields,
                    _select("Level", "log-level", "level", LEVEL_OPTIONS, "all"),
                    columns=str(len(fields) + 1),
                    spacing="3",
                    width="100%",
                ),
                rx.hstack(
                    rx.box(
                        labelled_input(
                            "Search text",
                            "log-text",
                            name="text",
                            placeholder="words that must all appear, e.g. timeout upstream",
                        ),
                        flex="1",
                    ),
                    rx.button(rx.icon("search", size=14), "Search", type="submit"),
                    align="end",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
            on_submit=state.search,
            reset_on_submit=False,
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def histogram(state: type[rx.State]) -> rx.Component:
    """Render the volume of matching lines over the time range."""
    return rx.cond(
        state.histogram_total != "",
        rx.vstack(
            rx.text(state.histogram_total, size="1", color_scheme="gray"),
            chart(state.histogram, "log-histogram", "Log volume over time, by level"),
            spacing="0",
            width="100%",
        ),
    )


def context_dialog(state: type[rx.State]) -> rx.Component:
    """Render the neighbours of the clicked line in a dialog."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Context"),
            rx.dialog.description(
                "The lines just before and after it, from the same source.",
                size="2",
                color_scheme="gray",
            ),
            rx.box(
                log_lines(state.context_lines, selected=state.context_for, test_id="log-context"),
                max_height="60vh",
                overflow_y="auto",
                margin_y="0.75rem",
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                justify="end",
            ),
            max_width="72rem",
        ),
        open=state.context_open,
        on_open_change=state.set_context_open,
    )


def downloads(state: type[rx.State]) -> rx.Component:
    """Render the download buttons of the current result."""
    return rx.hstack(
        rx.button(
            rx.icon("download", size=14),
            "Download text",
            size="1",
            variant="soft",
            on_click=state.download("text"),
            disabled=state.lines.length() == 0,
        ),
        rx.button(
            rx.icon("download", size=14),
            "Download JSON lines",
            size="1",
            variant="soft",
            on_click=state.download("jsonl"),
            disabled=state.lines.length() == 0,
        ),
        spacing="2",
    )


def results(state: type[rx.State], empty: rx.Component) -> rx.Component:
    """Render the result list with "Load older", or `empty` when nothing matched."""
    return rx.cond(
        state.lines.length() > 0,
        rx.vstack(
            rx.hstack(
                rx.text(state.result_note, size="2", color_scheme="gray"),
                rx.spacer(),
                downloads(state),
                width="100%",
                align="center",
            ),
            rx.box(
                log_lines(state.lines, on_select=state.show_context, selected=state.context_for),
                width="100%",
                border="1px solid var(--gray-5)",
                border_radius="var(--radius-2)",
                padding="0.25rem",
            ),
            rx.cond(
                state.has_older,
                rx.button(
                    "Load older",
                    variant="soft",
                    on_click=state.load_older,
                    width="100%",
                    data_autoload="true",
                ),
                rx.text("The start of the time range.", size="1", color_scheme="gray"),
            ),
            width="100%",
            spacing="2",
        ),
        empty,
    )


def retention_form(
    state: type[rx.State],
    label: str,
    html_id: str,
    name: str,
    value: rx.Var,
    error_path: str,
    on_submit: rx.EventHandler,
    key: rx.Var,
    width: str = "12rem",
) -> rx.Component:
    """Render a "days, 1-90" retention input with its Save button and inline error."""
    return rx.form(
        rx.hstack(
            rx.box(
                labelled_input(
                    label,
                    html_id,
                    name=name,
                    type="number",
                    min=1,
                    max=90,
                    default_value=value,
                    below=field_error(state, error_path),
                ),
                width=width,
            ),
            rx.button("Save retention", type="submit"),
            align="end",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        key=key,
    )
