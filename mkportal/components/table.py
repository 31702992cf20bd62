"""Data tables with a header row."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx


def data_table(headers: list[str], items: rx.Var, render_row: Callable) -> rx.Component:
    """Render a full-width table: one header row, then `render_row(item)` for each item."""
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(items, render_row)),
        width="100%",
    )
