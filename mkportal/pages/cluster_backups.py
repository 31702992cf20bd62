"""The Backups tab of /clusters/[cluster_id]: freshness, catalog, restore, schedules, drills."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.operation_progress import operation_progress
from mkportal.components.table import data_table
from mkportal.components.ui import confirm_button, empty_state, error_callout, pager, status_badge
from mkportal.pages.backup_cards import drills_card, retention_card, schedules_card
from mkportal.pages.backup_restore import restore_wizard
from mkportal.state.backup_restore import BackupRestoreState as R
from mkportal.state.backup_schedules import BackupSchedulesState
from mkportal.state.cluster_backups import ClusterBackupsState as B


def _freshness() -> rx.Component:
    f = B.fresh
    return rx.cond(
        f.contains("text"),
        rx.callout(
            f["text"],
            icon=rx.cond(f["stale"] == "yes", "triangle_alert", "shield-check"),
            color_scheme=rx.match(f["tone"], ("orange", "orange"), ("green", "green"), "gray"),
            role=rx.cond(f["stale"] == "yes", "alert", "status"),
            width="100%",
            data_testid="backup-freshness",
        ),
    )


def _lock(b: rx.Var) -> rx.Component:
    return rx.cond(
        b["locked"].to(bool),
        rx.button(
            rx.icon("lock", size=12),
            "Unlock",
            size="1",
            variant="soft",
            on_click=B.set_locked(b["id"], False),
            disabled=~B.can_write,
        ),
        rx.button(
            rx.icon("lock-open", size=12),
            "Lock",
            size="1",
            variant="soft",
            color_scheme="gray",
            on_click=B.set_locked(b["id"], True),
            disabled=~B.can_write | (b["status"] != "succeeded"),
        ),
    )


def _row(b: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(b["started"], on_click=B.show_details(b["id"]), cursor="pointer"),
            white_space="nowrap",
        ),
        rx.table.cell(b["trigger"]),
        rx.table.cell(status_badge(b["status"].to(str))),
        rx.table.cell(b["size"], white_space="nowrap"),
        rx.table.cell(rx.text(b["objects"], " objects", size="2"), rx.text(b["summary"], size="1")),
        rx.table.cell(b["duration"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                b["locked"].to(bool),
                rx.badge(rx.icon("lock", size=10), "locked", color_scheme="amber"),
                rx.text(b["kept_by"], size="2"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                _lock(b),
                rx.cond(
                    b["restorable"].to(bool) & B.can_write,
                    rx.button("Restore…", size="1", on_click=R.start(b["id"])),
                ),
                spacing="2",
            )
        ),
        data_testid="backup-row",
    )


def _details() -> rx.Component:
    d = B.details
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Backup of ", d["started"].to(str)),
            rx.data_list.root(
                rx.data_list.item(rx.data_list.label("Status"), rx.data_list.value(d["status"])),
                rx.data_list.item(rx.data_list.label("Trigger"), rx.data_list.value(d["trigger"])),
                rx.data_list.item(rx.data_list.label("Size"), rx.data_list.value(d["size"])),
                rx.data_list.item(
                    rx.data_list.label("Kubernetes version"), rx.data_list.value(d["k8s_version"])
                ),
                rx.data_list.item(
                    rx.data_list.label("Configuration version"),
                    rx.data_list.value(d["config_version"]),
                ),
                rx.data_list.item(rx.data_list.label("Kept by"), rx.data_list.value(d["kept_by"])),
                size="2",
            ),
            error_callout(d["error"].to(str)),
            rx.heading("Objects per kind", size="3", margin_top="1rem"),
            data_table(
                ["Kind", "API group", "Objects"],
                d["counts"].to(list[dict[str, str]]),
                lambda c: rx.table.row(
                    rx.table.cell(c["kind"]), rx.table.cell(c["group"]), rx.table.cell(c["count"])
                ),
            ),
            rx.hstack(
                rx.cond(
                    B.can_write,
                    confirm_button(
                        "Delete backup",
                        title="Delete this backup?",
                        description="Its archive is removed from storage; it can no longer "
                        "be restored. Locked backups cannot be deleted.",
                        on_confirm=B.delete_backup(d["id"].to(str)),
                        disabled=d["locked"].to(bool),
                    ),
                ),
                rx.spacer(),
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                margin_top="1rem",
                width="100%",
            ),
            max_width="44rem",
            data_testid="backup-details",
        ),
        open=B.details_open,
        on_open_change=B.set_details_open,
    )


def _catalog() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon("archive", size=16),
            rx.heading("Backups", size="3"),
            rx.spacer(),
            rx.cond(
                B.can_write,
                rx.hstack(
                    rx.button(
                        rx.icon("history", size=14),
                        "Restore…",
                        variant="soft",
                        on_click=R.start(""),
                    ),
                    rx.button(
                        rx.icon("save", size=14),
                        "Back up now",
                        on_click=B.back_up_now,
                        loading=B.op_active,
                    ),
                ),
            ),
            align="center",
            width="100%",
        ),
        rx.text(
            "Every backup holds the cluster's configuration and all its resources (custom "
            "resources included; Secrets encrypted), compressed and encrypted in the ",
            rx.link("organisation's backup storage", href=routes.BACKUP_SETTINGS),
            ". Volume data is not part of it.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(B.op.contains("id"), rx.box(operation_progress(B), margin_top="0.5rem")),
        rx.cond(
            B.backups.length() > 0,
            rx.vstack(
                data_table(
                    ["Time", "Trigger", "Status", "Size", "Objects", "Duration", "Kept by", ""],
                    B.backups,
                    _row,
                ),
                pager(B),
                width="100%",
            ),
            empty_state(
                "archive",
                "No backups yet",
                'The default daily schedule makes the first one; "Back up now" makes one at once.',
            ),
        ),
        _details(),
        width="100%",
    )


def _restore_row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["created"], href=f"/operations/{r['operation_id']}")),
        rx.table.cell(r["mode"]),
        rx.table.cell(r["scope"]),
        rx.table.cell(status_badge(r["status"])),
        rx.table.cell(
            rx.text(r["changes"], size="1"), rx.text(r["error"], size="1", color_scheme="red")
        ),
        rx.table.cell(r["requested_by"]),
        data_testid="restore-row",
    )


def _restores() -> rx.Component:
    return rx.cond(
        B.restores.length() > 0,
        rx.card(
            rx.hstack(rx.icon("history", size=16), rx.heading("Restores", size="3")),
            data_table(
                ["Requested", "Mode", "Scope", "Status", "Changes", "Requested by"],
                B.restores,
                _restore_row,
            ),
            width="100%",
        ),
    )


def backups_tab() -> rx.Component:
    """Render the cluster's Backups tab (it loads when shown and stops following when left)."""
    return rx.vstack(
        rx.cond(
            B.ready,
            rx.cond(
                B.missing,
                empty_state(
                    "search-x", "Cluster not found", "It does not exist, or belongs to another org."
                ),
                rx.vstack(
                    _freshness(),
                    _catalog(),
                    _restores(),
                    rx.grid(schedules_card(), retention_card(), columns="2", spacing="3"),
                    drills_card(),
                    restore_wizard(),
                    width="100%",
                    spacing="3",
                ),
            ),
            rx.hstack(rx.spinner(), rx.text("Reading the backups…", size="2"), role="status"),
        ),
        on_mount=[B.load, BackupSchedulesState.load],
        on_unmount=B.leave,
        width="100%",
    )
