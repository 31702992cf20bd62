"""The Backups tab's cards: schedules (presets or cron), retention, and restore drills."""

from __future__ import annotations

import reflex as rx

from mkportal.components.cluster_form import labelled_select
from mkportal.components.table import data_table
from mkportal.components.ui import confirm_button, field_error, labelled_input, status_badge
from mkportal.state.backup_schedules import PRESETS, WEEKDAYS
from mkportal.state.backup_schedules import BackupSchedulesState as S


def _input(label: str, name: str, **props) -> rx.Component:
    return labelled_input(label, f"backup-{name}", name=name, below=field_error(S, name), **props)


def _schedule_row(s: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.text(s["name"], weight="medium", size="2"),
            rx.text(s["description"], size="1", color_scheme="gray"),
            rx.cond(s["default"] == "yes", rx.badge("default", size="1", variant="outline")),
        ),
        rx.table.cell(rx.code(s["cron"], size="1")),
        rx.table.cell(rx.text(s["next_run"], size="1")),
        rx.table.cell(
            rx.cond(
                S.can_write,
                rx.hstack(
                    rx.switch(
                        checked=s["enabled"] == "yes",
                        on_change=lambda v: S.set_enabled(s["id"], v),
                        aria_label=f"Schedule {s['name']} enabled",
                        size="1",
                    ),
                    confirm_button(
                        "Delete",
                        title="Delete this schedule?",
                        description="No more backups are made on it; existing backups stay.",
                        on_confirm=S.delete_schedule(s["id"]),
                        size="1",
                    ),
                    align="center",
                ),
                rx.text(rx.cond(s["enabled"] == "yes", "on", "paused"), size="1"),
            )
        ),
        data_testid="schedule-row",
    )


def _add_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Add a schedule", size="2"),
            rx.hstack(
                labelled_select("Repeat", "backup-preset", PRESETS, S.preset, S.set_preset),
                _input("Name (optional)", "name", placeholder="nightly"),
                width="100%",
            ),
            rx.match(
                S.preset,
                ("daily", _input("Time (HH:MM)", "time", placeholder="02:30")),
                (
                    "weekly",
                    rx.hstack(
                        rx.vstack(
                            rx.el.label(
                                "Weekday", html_for="backup-weekday", class_name="mk-label"
                            ),
                            rx.select(
                                WEEKDAYS,
                                name="weekday",
                                default_value="sunday",
                                id="backup-weekday",
                                aria_label="Weekday",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        _input("Time (HH:MM)", "time", placeholder="03:00"),
                        width="100%",
                    ),
                ),
                ("cron", _input("Cron expression", "cron", placeholder="0 */6 * * *")),
                _input("Minute past the hour (0-59)", "minute", placeholder="0"),
            ),
            field_error(S, "preset"),
            rx.button("Add schedule", type="submit"),
            spacing="2",
            width="100%",
        ),
        on_submit=S.add_schedule,
        reset_on_submit=False,
    )


def schedules_card() -> rx.Component:
    """Render the cluster's backup schedules, with a form to add one."""
    return rx.card(
        rx.hstack(rx.icon("calendar-clock", size=16), rx.heading("Schedules", size="3")),
        rx.text(
            "Times are in the cluster's backup timezone (",
            rx.text.strong(S.retention["timezone"]),
            "); a cron expression may run at most every 15 minutes.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            S.schedules.length() > 0,
            data_table(["Schedule", "Cron", "Next backup", ""], S.schedules, _schedule_row),
            rx.text("No schedules: backups are only made on demand.", size="2"),
        ),
        rx.cond(S.can_write, rx.box(_add_form(), margin_top="0.75rem", width="100%")),
        width="100%",
    )


def retention_card() -> rx.Component:
    """Render the retention rules, the timezone and the drill schedule."""
    r = S.retention
    form = rx.form(
        rx.vstack(
            rx.grid(
                _input("Keep the last", "keep_last", default_value=r["keep_last"], type="number"),
                _input(
                    "Daily for days", "keep_daily", default_value=r["keep_daily"], type="number"
                ),
                _input(
                    "Weekly for weeks", "keep_weekly", default_value=r["keep_weekly"], type="number"
                ),
                _input(
                    "Monthly for months",
                    "keep_monthly",
                    default_value=r["keep_monthly"],
                    type="number",
                ),
                columns="2",
                spacing="2",
                width="100%",
            ),
            _input("Timezone (IANA)", "timezone", default_value=r["timezone"]),
            _input(
                "Restore drill schedule (cron, empty: none)",
                "drill_cron",
                default_value=r["drill_cron"],
                placeholder="0 4 * * 0",
            ),
            field_error(S, "retention"),
            rx.button("Save retention", type="submit", disabled=~S.can_write),
            spacing="2",
            width="100%",
        ),
        on_submit=S.save_retention,
        reset_on_submit=False,
        key=r.to_string(),
    )
    return rx.card(
        rx.hstack(rx.icon("archive-restore", size=16), rx.heading("Retention", size="3")),
        rx.text(
            "Older backups are pruned automatically. Each rule keeps the newest backup of its "
            "period; locked backups are kept forever. The catalog shows the rule keeping each.",
            size="2",
            color_scheme="gray",
        ),
        rx.box(form, margin_top="0.5rem", width="100%"),
        width="100%",
    )


def _drill_row(d: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(d["started"]),
        rx.table.cell(status_badge(d["status"])),
        rx.table.cell(d["finished"]),
        rx.table.cell(rx.text(d["message"], size="1")),
    )


def drills_card() -> rx.Component:
    """Render the restore drills (a backup restored into a temporary cluster and checked)."""
    return rx.card(
        rx.hstack(
            rx.icon("flask-conical", size=16),
            rx.heading("Restore drills", size="3"),
            rx.spacer(),
            rx.button("Refresh", size="1", variant="soft", on_click=S.refresh),
            rx.cond(S.can_write, rx.button("Run drill now", size="1", on_click=S.run_drill)),
            align="center",
            width="100%",
        ),
        rx.text(
            "A drill restores the newest good backup into a temporary sandbox cluster, compares "
            "object counts and checksums, and deletes the cluster again.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            S.drills.length() > 0,
            data_table(["Started", "Result", "Finished", "Details"], S.drills, _drill_row),
            rx.text("No drills yet.", size="2"),
        ),
        width="100%",
    )
