"""/admin/billing: revenue per month and organisation, unpaid invoices, credits, billing runs."""

from __future__ import annotations

import reflex as rx

from mkportal.components.charts import chart
from mkportal.components.cluster_form import labelled_select
from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import (
    confirm_button,
    empty_state,
    field_error,
    labelled_input,
    pager,
)
from mkportal.pages.billing import invoice_badge
from mkportal.state.admin_billing import INVOICE_FILTERS, AdminBillingState, AdminCreditsState

A = AdminBillingState
C = AdminCreditsState


def _revenue() -> rx.Component:
    return rx.card(
        rx.heading("Revenue per month", size="4"),
        rx.text(
            "Issued invoices (finalized, sent, paid, payment failed) of the last 12 months; "
            "drafts and void invoices do not count. The table lists the months with invoices.",
            size="2",
            color_scheme="gray",
        ),
        chart(A.revenue_chart, "revenue-chart", "Paid and outstanding revenue per month"),
        rx.cond(
            A.revenue.length() > 0,
            data_table(
                ["Month", "Invoiced", "Paid", "Outstanding", "Credits"],
                A.revenue,
                lambda r: rx.table.row(
                    rx.table.cell(r["month"]),
                    rx.table.cell(r["invoiced"]),
                    rx.table.cell(r["paid"]),
                    rx.table.cell(r["outstanding"]),
                    rx.table.cell(r["credits"]),
                ),
            ),
            rx.text("No invoices were issued in the last 12 months.", size="2"),
        ),
        width="100%",
    )


def _org_revenue() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading("Revenue per organisation", size="4"),
            rx.spacer(),
            rx.box(
                labelled_select(
                    "Month", "org-month", A.period_options, A.org_period, A.choose_org_period
                ),
                width="12rem",
            ),
            align="end",
            width="100%",
        ),
        rx.cond(
            A.org_revenue.length() > 0,
            data_table(
                ["Organisation", "Invoiced", "Paid", "Outstanding"],
                A.org_revenue,
                lambda r: rx.table.row(
                    rx.table.cell(r["org_name"]),
                    rx.table.cell(r["invoiced"]),
                    rx.table.cell(r["paid"]),
                    rx.table.cell(r["outstanding"]),
                ),
            ),
            rx.text("No invoices were issued for this month.", size="2", color_scheme="gray"),
        ),
        width="100%",
    )


def _invoice_row(i: rx.Var) -> rx.Component:
    issued = (i["status"] == "finalized") | (i["status"] == "sent")
    unpaid = issued | (i["status"] == "payment_failed")
    return rx.table.row(
        rx.table.cell(i["number"], weight="bold"),
        rx.table.cell(i["org_name"]),
        rx.table.cell(i["period"]),
        rx.table.cell(invoice_badge(i["status"])),
        rx.table.cell(i["total"]),
        rx.table.cell(i["sent_at"]),
        rx.table.cell(rx.text(i["failure_reason"], size="1")),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    unpaid,
                    confirm_button(
                        "Mark paid",
                        title="Mark the invoice as paid?",
                        description="Record invoice "
                        + i["number"].to(str)
                        + " as paid outside Stripe, e.g. by bank transfer.",
                        on_confirm=A.mark_paid(i["id"]),
                        color="green",
                        size="1",
                    ),
                ),
                rx.cond(
                    unpaid,
                    rx.button(
                        "Void",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=A.ask_void(i["id"], i["number"]),
                    ),
                ),
                rx.cond(
                    unpaid | (i["status"] == "paid"),
                    rx.button("Re-send", size="1", variant="soft", on_click=A.resend(i["id"])),
                ),
                spacing="2",
            )
        ),
        data_invoice=i["number"],
    )


def _void_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Void invoice ", A.void_number, "?"),
            rx.dialog.description(
                "A void invoice is not owed any more. This cannot be undone; the reason is "
                "kept in the audit log.",
                size="2",
            ),
            rx.vstack(
                labelled_input(
                    "Reason",
                    "void-reason",
                    value=A.void_reason,
                    on_change=A.set_void_reason,
                    placeholder="e.g. billed twice, replaced by a corrected invoice",
                    below=field_error(A, "reason"),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Void invoice", color_scheme="red", on_click=A.void_invoice),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                margin_top="1rem",
            ),
        ),
        open=A.void_target != "",
        on_open_change=A.close_void,
    )


def _invoices() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading("Invoices", size="4"),
            rx.spacer(),
            rx.el.label("Status", html_for="invoice-filter", class_name="mk-label"),
            rx.select(
                INVOICE_FILTERS,
                value=A.invoice_filter,
                on_change=A.set_invoice_filter,
                id="invoice-filter",
                aria_label="Invoice status",
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            A.invoices.length() > 0,
            rx.vstack(
                data_table(
                    [
                        "Invoice",
                        "Organisation",
                        "Month",
                        "Status",
                        "Total",
                        "Sent",
                        "Problem",
                        "",
                    ],
                    A.invoices,
                    _invoice_row,
                ),
                pager(A),
                width="100%",
            ),
            empty_state(
                "circle-check",
                "Nothing to follow up",
                "No invoice has this status. Unpaid invoices (finalized, sent, payment "
                "failed) appear here after a billing run.",
            ),
        ),
        _void_dialog(),
        width="100%",
    )


def _run() -> rx.Component:
    return rx.card(
        rx.heading("Run billing", size="4"),
        rx.text(
            "Meter, rate and invoice a month that is over, then email the invoices. The run is "
            "a durable operation: its page shows the progress and log, and it resumes after a "
            "restart. Running a month again rebuilds its drafts and leaves issued invoices "
            "alone. It also runs by itself on the 1st of every month.",
            size="2",
            color_scheme="gray",
        ),
        rx.hstack(
            rx.box(
                labelled_input(
                    "Month to bill (YYYY-MM)",
                    "run-period",
                    value=A.run_period,
                    on_change=A.set_run_period,
                    below=field_error(A, "period"),
                ),
                width="14rem",
            ),
            rx.button(
                rx.icon("play", size=14),
                "Run billing",
                on_click=A.run_billing,
                margin_top="1.5rem",
            ),
            align="start",
        ),
        width="100%",
    )


def _credit_form() -> rx.Component:
    return rx.form(
        rx.grid(
            rx.box(
                labelled_select(
                    "Organisation", "credit-org", C.org_options, C.credit_org, C.choose_org
                ),
                field_error(C, "org_id"),
            ),
            labelled_input(
                "Month (YYYY-MM)",
                "credit-period",
                name="period",
                default_value=C.credit_period,
                below=field_error(C, "period"),
            ),
            labelled_input(
                "Amount",
                "credit-amount",
                name="amount",
                placeholder="e.g. 25.00",
                below=field_error(C, "amount"),
            ),
            rx.box(
                labelled_select(
                    "Cluster (optional)",
                    "credit-cluster",
                    C.cluster_options,
                    C.credit_cluster,
                    C.choose_cluster,
                ),
                field_error(C, "cluster_id"),
            ),
            columns="4",
            spacing="3",
            width="100%",
        ),
        rx.box(
            labelled_input(
                "Reason (shown on the invoice)",
                "credit-reason",
                name="reason",
                placeholder="e.g. Outage of 3 hours on 12 November",
                below=field_error(C, "reason"),
            ),
            margin_top="0.75rem",
        ),
        rx.button("Add credit", type="submit", margin_top="0.75rem"),
        on_submit=C.add_credit,
        reset_on_submit=False,
        width="100%",
    )


def _credits() -> rx.Component:
    return rx.card(
        rx.heading("Credits", size="4"),
        rx.text(
            "Deducted from the organisation's invoice of the month. SLO credits are added by "
            "billing runs; add others by hand with a reason.",
            size="2",
            color_scheme="gray",
        ),
        _credit_form(),
        rx.cond(
            C.credits.length() > 0,
            rx.vstack(
                data_table(
                    ["Organisation", "Month", "Amount", "Reason", "Kind", "By", "Added"],
                    C.credits,
                    lambda c: rx.table.row(
                        rx.table.cell(c["org_name"]),
                        rx.table.cell(c["period"]),
                        rx.table.cell(c["amount"]),
                        rx.table.cell(c["reason"]),
                        rx.table.cell(c["source"]),
                        rx.table.cell(c["created_by"]),
                        rx.table.cell(c["created_at"]),
                    ),
                ),
                pager(C),
                width="100%",
                margin_top="1rem",
            ),
            rx.text("No credits yet.", size="2", color_scheme="gray", margin_top="1rem"),
        ),
        width="100%",
    )


def admin_billing_page() -> rx.Component:
    """Render the operators' billing console."""
    return shell(
        "Billing (all organisations)",
        _run(),
        _invoices(),
        _revenue(),
        _org_revenue(),
        _credits(),
    )
