"""/alarms: the organisation's alarms with their states, the alarm form, and history."""

from __future__ import annotations

import reflex as rx

from mkportal.components.layout import shell
from mkportal.components.table import data_table
from mkportal.components.ui import confirm_button, empty_state, field_error, labelled_input, pager
from mkportal.services.metrics.alarm_input import COMPARATORS, SEVERITIES
from mkportal.state.alarms import ALL_CLUSTERS
from mkportal.state.alarms import AlarmsState as A

STATE_COLORS = {"ok": "green", "pending": "amber", "firing": "red", "error": "orange"}
CHANNEL_LABELS = (("in_app", "In the portal (bell)"), ("email", "Email"), ("webhook", "Webhook"))


def _hint(text: str) -> rx.Component:
    return rx.text(text, size="1", color_scheme="gray")


def _input(label: str, name: str, hint: str = "", **props) -> rx.Component:
    below = rx.vstack(
        *([_hint(hint)] if hint else []), field_error(A, name), spacing="1", width="100%"
    )
    return labelled_input(
        label, f"alarm-{name}", name=name, default_value=A.form[name], below=below, **props
    )


def _select(label: str, name: str, options: list, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"alarm-{name}", class_name="mk-label"),
        rx.select.root(
            rx.select.trigger(id=f"alarm-{name}", aria_label=label, width="100%"),
            rx.select.content(*options),
            name=name,
            default_value=A.form[name],
            **props,
        ),
        field_error(A, name),
        spacing="1",
        width="100%",
    )


def _check(name: str, label: str) -> rx.Component:
    return rx.hstack(
        rx.checkbox(id=f"alarm-{name}", name=name, default_checked=A.form[name] == "on"),
        rx.el.label(label, html_for=f"alarm-{name}"),
        align="center",
    )


def _form() -> rx.Component:
    clusters = [
        rx.select.item("All clusters of the organisation", value=ALL_CLUSTERS),
        rx.foreach(A.clusters, lambda c: rx.select.item(c["label"], value=c["value"])),
    ]
    return rx.card(
        rx.heading(rx.cond(A.editing != "", "Edit alarm", "New alarm"), size="4"),
        rx.form(
            rx.grid(
                _input("Name", "name", placeholder="High error rate"),
                _select("Cluster", "cluster_id", clusters, on_change=A.set_preview_cluster),
                columns="2",
                spacing="3",
                width="100%",
            ),
            rx.vstack(
                rx.el.label("PromQL query", html_for="alarm-query", class_name="mk-label"),
                rx.text_area(
                    id="alarm-query",
                    name="query",
                    default_value=A.form["query"],
                    on_blur=A.set_preview_query,
                    placeholder='sum(rate(http_requests_total{code=~"5.."}[5m]))',
                    font_family="monospace",
                    rows="3",
                    width="100%",
                ),
                _hint(
                    "Runs only over your organisation's series (and the chosen cluster). "
                    "The alarm fires when any returned value meets the condition."
                ),
                field_error(A, "query"),
                rx.hstack(
                    rx.button(
                        "Preview value",
                        type="button",
                        size="1",
                        variant="soft",
                        on_click=A.run_preview,
                    ),  # fmt: skip
                    rx.text(A.preview_text, size="2", data_testid="alarm-preview"),
                    align="center",
                ),
                spacing="1",
                width="100%",
                margin_top="0.75rem",
            ),
            rx.grid(
                _select(
                    "Condition", "comparator", [rx.select.item(c, value=c) for c in COMPARATORS]
                ),
                _input("Threshold", "threshold", inputmode="decimal"),
                _input(
                    "For (seconds)",
                    "for_seconds",
                    "0 to 86400: how long it must hold.",
                    type="number",
                    min=0,
                    max=86400,
                ),  # fmt: skip
                _select("Severity", "severity", [rx.select.item(s, value=s) for s in SEVERITIES]),
                columns="4",
                spacing="3",
                width="100%",
                margin_top="0.75rem",
            ),
            rx.vstack(
                rx.text("Notify by", class_name="mk-label"),
                rx.hstack(*[_check(n, label) for n, label in CHANNEL_LABELS], spacing="4"),
                field_error(A, "channels"),
                spacing="1",
                margin_top="0.75rem",
            ),
            rx.grid(
                _input("Emails (comma separated)", "emails", "Empty: your own address."),
                _input(
                    "Webhook URL",
                    "webhook_url",
                    "http(s); the JSON body is signed (X-Mkportal-Signature: sha256=HMAC).",
                ),  # fmt: skip
                columns="2",
                spacing="3",
                width="100%",
                margin_top="0.75rem",
            ),
            rx.hstack(
                _check("enabled", "Enabled"),
                rx.spacer(),
                rx.button(
                    "Cancel",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=A.close_form,
                ),  # fmt: skip
                rx.button(rx.cond(A.editing != "", "Save changes", "Create alarm"), type="submit"),
                width="100%",
                align="center",
                margin_top="0.75rem",
            ),
            on_submit=A.save,
            reset_on_submit=False,
            key=A.form_key,
        ),
        width="100%",
    )


def _state_badge(state: rx.Var) -> rx.Component:
    return rx.badge(
        state,
        color_scheme=rx.match(state, *STATE_COLORS.items(), "gray"),
        variant="solid",
        data_testid="alarm-state",
        data_state=state,
    )


def _row(a: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(a["name"], weight="bold"), _hint(a["cluster"])),
        rx.table.cell(
            rx.code(a["query"], size="1", word_break="break-all"),
            rx.text(
                a["comparator"], " ", a["threshold"], " for ", a["for_seconds"], " s", size="1"
            ),
        ),
        rx.table.cell(rx.badge(a["severity"], variant="outline")),
        rx.table.cell(
            rx.cond(
                a["enabled"], _state_badge(a["state"]), rx.badge("disabled", color_scheme="gray")
            ),
            rx.cond(a["last_error"] != "", _hint(a["last_error"])),
        ),
        rx.table.cell(a["last_value"]),
        rx.table.cell(
            rx.hstack(
                rx.button("History", size="1", variant="soft", on_click=A.show_history(a["id"])),
                rx.cond(
                    A.can_write,
                    rx.hstack(
                        rx.button("Edit", size="1", variant="soft", on_click=A.edit_alarm(a["id"])),
                        rx.button(
                            rx.cond(a["enabled"], "Disable", "Enable"),
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=A.toggle(a["id"], ~a["enabled"].to(bool)),
                        ),
                        confirm_button(
                            "Delete",
                            title="Delete this alarm?",
                            description="The alarm and its history are deleted. It stops "
                            "notifying anyone.",
                            on_confirm=A.delete_alarm(a["id"]),
                            size="1",
                        ),
                    ),
                ),
            )
        ),
        data_testid="alarm-row",
    )


def _history() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading("History of ", A.history_name, size="3"),
            rx.spacer(),
            rx.button(
                "Close history",
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=A.close_history,
            ),  # fmt: skip
            width="100%",
        ),
        rx.cond(
            A.history.length() > 0,
            data_table(
                ["When", "What", "Value", "Details"],
                A.history,
                lambda e: rx.table.row(
                    rx.table.cell(e["at"]),
                    rx.table.cell(_state_badge(e["kind"])),
                    rx.table.cell(e["value"]),
                    rx.table.cell(e["message"]),
                ),
            ),
            _hint("Nothing happened yet: the alarm has not left the ok state."),
        ),
        rx.hstack(
            rx.text(f"Page {A.history_page} of {A.history_pages}", size="2", color_scheme="gray"),
            rx.spacer(),
            rx.button(
                "Newer",
                size="1",
                variant="soft",
                on_click=A.history_step(-1),
                disabled=A.history_page <= 1,
            ),  # fmt: skip
            rx.button(
                "Older",
                size="1",
                variant="soft",
                on_click=A.history_step(1),
                disabled=A.history_page >= A.history_pages,
            ),  # fmt: skip
            width="100%",
        ),
        width="100%",
    )


def alarms_page() -> rx.Component:
    """Render /alarms."""
    return shell(
        "Alarms",
        _hint(
            "Alarms watch your organisation's metrics. The portal evaluates them every few "
            "seconds and notifies you when one fires and when it resolves."
        ),
        rx.cond(A.form_open, _form()),
        rx.cond(
            A.items.length() > 0,
            rx.vstack(
                data_table(
                    ["Alarm", "Condition", "Severity", "State", "Last value", ""], A.items, _row
                ),
                pager(A),
                width="100%",
            ),
            empty_state(
                "bell-ring",
                "No alarms yet",
                "Create an alarm on any PromQL query over your clusters' metrics, e.g. the "
                "error rate of your app, and get told in the portal, by email or by webhook.",
            ),
        ),
        rx.cond(A.history_of != "", _history()),
        actions=[
            rx.cond(
                A.can_write & ~A.form_open,
                rx.button(rx.icon("plus", size=14), "New alarm", on_click=A.new_alarm),
            )
        ],
        on_unmount=A.stop_watching,
    )
