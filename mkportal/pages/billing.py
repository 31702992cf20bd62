"""/billing: what the organisation pays — this month live, usage charts, invoices, prices."""

from __future__ import annotations

import reflex as rx

from mkportal.components.charts import chart
from mkportal.components.cluster_form import labelled_select
from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import empty_state, field_error, labelled_input, pager
from mkportal.state.billing import BillingState as S
from mkportal.state.billing_contact import BillingContactState

INVOICE_COLORS = {
    "draft": "gray",
    "finalized": "blue",
    "sent": "indigo",
    "paid": "green",
    "payment_failed": "red",
    "void": "gray",
}


def invoice_badge(status: rx.Var) -> rx.Component:
    """Render an invoice's status as a coloured badge."""
    return rx.badge(
        status.to(str).replace("_", " "),
        color_scheme=rx.match(status, *INVOICE_COLORS.items(), "gray"),
        variant="soft",
        data_status=status,
    )


def figure(label: str, value: rx.Var, test_id: str, hint: rx.Var | str = "") -> rx.Component:
    """Render a labelled big number."""
    return rx.card(
        rx.text(label, size="2", color_scheme="gray"),
        rx.heading(value, size="6", data_testid=test_id),
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        min_width="14rem",
    )


def _loading(text: str) -> rx.Component:
    return rx.hstack(rx.spinner(size="2"), rx.text(text, size="2"), padding="1rem", role="status")


def _estimate() -> rx.Component:
    return rx.cond(
        S.estimate.contains("period"),
        _estimate_card(),
        rx.card(_loading("Rating this month's usage…"), width="100%"),
    )


def _estimate_card() -> rx.Component:
    e = S.estimate
    return rx.card(
        rx.hstack(
            rx.heading("This month: ", e["month"], size="4"),
            rx.spacer(),
            rx.badge(
                rx.icon("radio", size=12), "live", color_scheme="green", variant="soft", size="1"
            ),
            align="center",
            width="100%",
        ),
        rx.text(
            "Usage rated with the prices in force, and projected to the end of the month at "
            "the current hourly rate. The invoice is issued on ",
            S.first_invoice,
            ".",
            size="2",
            color_scheme="gray",
        ),
        rx.flex(
            figure("So far", e["to_date"], "estimate-to-date"),
            figure("Projected for the month", e["projected"], "estimate-projected"),
            figure("Updated", e["updated"], "estimate-updated"),
            wrap="wrap",
            spacing="3",
            margin_y="0.75rem",
        ),
        rx.cond(
            S.estimate_clusters.length() > 0,
            data_table(
                ["Cluster", "So far", "Projected for the month"],
                S.estimate_clusters,
                lambda c: rx.table.row(
                    rx.table.cell(c["cluster"]),
                    rx.table.cell(c["to_date"]),
                    rx.table.cell(c["projected"]),
                ),
            ),
            rx.text(
                "No usage yet this month. Clusters are metered every hour while they exist.",
                size="2",
            ),
        ),
        width="100%",
        data_testid="estimate",
    )


def _usage() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading("Usage by cluster and component", size="4"),
            rx.spacer(),
            rx.box(
                labelled_select(
                    "Month", "usage-month", S.period_options, S.usage_period, S.choose_period
                ),
                width="12rem",
            ),
            align="end",
            width="100%",
        ),
        rx.cond(
            ~S.usage_ready,
            _loading("Rating the usage…"),
            rx.cond(
                S.usage_rows > 0,
                rx.vstack(
                    rx.text("Total: ", rx.text.strong(S.usage_total), size="2"),
                    chart(
                        S.usage_chart, "usage-chart", "Charges per cluster, stacked by component"
                    ),
                    width="100%",
                ),
                empty_state(
                    "chart-column",
                    "No usage in this month",
                    "Charges appear here once a cluster has run for an hour.",
                ),
            ),
        ),
        width="100%",
    )


def _history() -> rx.Component:
    return rx.card(
        rx.heading("Last 12 months", size="4"),
        rx.cond(
            ~S.history_ready,
            _loading("Reading the history…"),
            rx.cond(
                S.history.length() > 0,
                chart(S.history_chart, "history-chart", "Invoiced amount per month"),
                rx.text("No history yet.", size="2", color_scheme="gray"),
            ),
        ),
        width="100%",
    )


def _invoice_row(i: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(i["number"], on_click=S.open_invoice(i["id"]), cursor="pointer", weight="bold"),
            white_space="nowrap",
        ),
        rx.table.cell(i["month"], white_space="nowrap"),
        rx.table.cell(invoice_badge(i["status"])),
        rx.table.cell(i["total"], text_align="right", white_space="nowrap"),
        rx.table.cell(i["issued_on"], white_space="nowrap"),
        rx.table.cell(i["paid_on"], white_space="nowrap"),
        rx.table.cell(
            rx.hstack(
                rx.button("View", size="1", variant="soft", on_click=S.open_invoice(i["id"])),
                rx.button(
                    rx.icon("download", size=12),
                    "Download",
                    size="1",
                    variant="soft",
                    on_click=S.download_invoice(i["id"]),
                    aria_label="Download " + i["number"].to(str),
                ),
            )
        ),
    )


def _invoice_detail() -> rx.Component:
    inv = S.invoice
    return rx.card(
        rx.hstack(
            rx.heading("Invoice ", inv["number"], size="4"),
            invoice_badge(inv["status"]),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=14),
                "Download",
                on_click=S.download_invoice(inv["id"]),
            ),
            rx.button("Back to the invoices", variant="soft", on_click=S.close_invoice),
            align="center",
            width="100%",
        ),
        rx.data_list.root(
            rx.data_list.item(rx.data_list.label("Month"), rx.data_list.value(inv["month"])),
            rx.data_list.item(rx.data_list.label("Subtotal"), rx.data_list.value(inv["subtotal"])),
            rx.data_list.item(
                rx.data_list.label("Credits"), rx.data_list.value("-", inv["credit_total"])
            ),
            rx.data_list.item(
                rx.data_list.label("Total"),
                rx.data_list.value(rx.text.strong(inv["total"]), data_testid="invoice-total"),
            ),
            rx.data_list.item(
                rx.data_list.label("Issued"), rx.data_list.value(inv["finalized_at"])
            ),
            rx.data_list.item(rx.data_list.label("Paid"), rx.data_list.value(inv["paid_at"])),
            orientation="horizontal",
            margin_y="0.75rem",
        ),
        rx.cond(
            inv["failure_reason"] != "",
            rx.callout(inv["failure_reason"], icon="triangle_alert", color_scheme="red"),
        ),
        rx.cond(
            inv["stripe_url"] != "",
            rx.link("Pay or view online", href=inv["stripe_url"], is_external=True),
        ),
        data_table(
            ["Cluster", "Item", "Quantity", "Unit price", "Amount", "Prices"],
            S.invoice_lines,
            lambda ln: rx.table.row(
                rx.table.cell(ln["cluster"]),
                rx.table.cell(ln["description"]),
                rx.table.cell(ln["quantity"]),
                rx.table.cell(ln["unit_price"]),
                rx.table.cell(ln["amount"], text_align="right"),
                rx.table.cell("v", ln["version"]),
            ),
        ),
        rx.cond(
            S.invoice_credits.length() > 0,
            rx.vstack(
                rx.heading("Credits", size="3", margin_top="1rem"),
                data_table(
                    ["Reason", "Kind", "Amount"],
                    S.invoice_credits,
                    lambda c: rx.table.row(
                        rx.table.cell(c["reason"]),
                        rx.table.cell(c["source"]),
                        rx.table.cell("-", c["amount"]),
                    ),
                ),
                width="100%",
            ),
        ),
        width="100%",
        data_testid="invoice-detail",
    )


def _invoices() -> rx.Component:
    return rx.card(
        rx.heading("Invoices", size="4"),
        rx.cond(
            S.invoice.contains("id"),
            _invoice_detail(),
            rx.cond(
                S.invoices.length() > 0,
                rx.vstack(
                    data_table(
                        ["Invoice", "Month", "Status", "Total", "Issued", "Paid", ""],
                        S.invoices,
                        _invoice_row,
                    ),
                    pager(S),
                    width="100%",
                    data_testid="invoice-list",
                ),
                empty_state(
                    "receipt",
                    "No invoices yet",
                    "No invoices yet: the first one is issued on " + S.first_invoice + ".",
                ),
            ),
        ),
        width="100%",
    )


def _prices() -> rx.Component:
    return rx.card(
        rx.heading("Prices", size="4"),
        rx.cond(S.price_note != "", rx.callout(S.price_note, icon="info", size="1")),
        rx.cond(
            S.prices.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Item"),
                        rx.table.column_header_cell("Per"),
                        rx.table.column_header_cell("Price now"),
                        rx.cond(
                            S.next_price_header != "",
                            rx.table.column_header_cell(S.next_price_header),
                        ),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        S.prices,
                        lambda p: rx.table.row(
                            rx.table.cell(p["label"]),
                            rx.table.cell(p["unit"]),
                            rx.table.cell(p["price"]),
                            rx.cond(S.next_price_header != "", rx.table.cell(p["next"])),
                        ),
                    )
                ),
                size="1",
                width="100%",
            ),
            rx.text("No price list is in force.", size="2"),
        ),
        width="100%",
    )


def _contact() -> rx.Component:
    c = BillingContactState
    return rx.card(
        rx.heading("Billing contact", size="4"),
        rx.text(
            "Invoices and payment notices go to: ",
            rx.text.strong(c.recipients, data_testid="billing-recipients"),
            ". Without a billing email they go to the organisation's owners.",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.hstack(
                rx.box(
                    labelled_input(
                        "Billing email",
                        "billing-email",
                        name="billing_email",
                        default_value=c.billing_email,
                        placeholder="accounts@example.com",
                        below=field_error(c, "billing_email"),
                    ),
                    width="22rem",
                ),
                rx.button("Save billing email", type="submit", margin_top="1.5rem"),
                align="start",
            ),
            on_submit=c.save,
            reset_on_submit=False,
            key=c.billing_email,
        ),
        on_mount=c.load,
        width="100%",
    )


def billing_page() -> rx.Component:
    """Render the organisation's billing."""
    return shell(
        "Billing",
        _estimate(),
        _usage(),
        _history(),
        _invoices(),
        _prices(),
        _contact(),
        on_unmount=S.stop_watching,
    )
