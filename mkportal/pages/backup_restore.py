"""The restore wizard: restore point, scope, target, "Preview changes", confirm, progress."""

from __future__ import annotations

import reflex as rx

from mkportal.components.cluster_form import labelled_select
from mkportal.components.operation_progress import operation_progress
from mkportal.components.table import data_table
from mkportal.components.ui import field_error, labelled_input
from mkportal.state.backup_restore import BackupRestoreState as R

ACTION_COLORS = {
    "create": "green",
    "update": "blue",
    "delete": "red",
    "unchanged": "gray",
    "blocked": "orange",
}
TARGETS = [
    {"value": "merge", "label": "This cluster: merge (create and update, delete nothing)"},
    {"value": "replace", "label": "This cluster: replace (also delete what the backup lacks)"},
    {"value": "clone", "label": "A new cluster (a clone with the backed-up configuration)"},
]


def _kind(k: rx.Var) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=R.chosen_kinds.contains(k["key"]),
                on_change=lambda v: R.toggle_kind(k["key"], v),
            ),
            rx.text(k["kind"], " (", k["count"], ")", size="2"),
            align="center",
            spacing="1",
        ),
    )


def _choose() -> rx.Component:
    return rx.vstack(
        labelled_select("Restore point", "restore-point", R.points, R.backup_id, R.choose_point),
        rx.el.fieldset(
            rx.el.legend("Kinds (none ticked: every kind)", class_name="mk-label"),
            rx.flex(rx.foreach(R.kinds, _kind), wrap="wrap", spacing="3"),
            border="none",
            padding="0",
            margin="0",
        ),
        labelled_input(
            "Namespaces (comma-separated, empty: all)",
            "restore-namespaces",
            value=R.namespaces,
            on_change=R.set_namespaces,
            placeholder="shop, payments",
        ),
        labelled_select("Restore into", "restore-target", TARGETS, R.mode, R.set_mode),
        rx.cond(
            R.mode == "clone",
            labelled_input(
                "New cluster name",
                "restore-clone-name",
                value=R.clone_name,
                on_change=R.set_clone_name,
                below=field_error(R, "clone_name"),
                placeholder="shop-restored",
            ),
            rx.el.label(
                rx.hstack(
                    rx.checkbox(checked=R.include_config, on_change=R.set_include_config),
                    rx.text(
                        "Also restore the configuration (Kubernetes version, node pools, features)",
                        size="2",
                    ),
                    align="center",
                ),
            ),
        ),
        spacing="3",
        width="100%",
    )


def _figure(label: str, key: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(
            R.summary[key],
            size="5",
            weight="bold",
            color_scheme=ACTION_COLORS[key],
            data_testid=f"diff-{key}",
        ),
        spacing="0",
    )


def _change(c: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.badge(
                c["action"], color_scheme=rx.match(c["action"], *ACTION_COLORS.items(), "gray")
            )
        ),
        rx.table.cell(c["kind"]),
        rx.table.cell(c["namespace"]),
        rx.table.cell(c["name"]),
        rx.table.cell(rx.text(c["detail"], size="1")),
    )


def _preview() -> rx.Component:
    return rx.vstack(
        rx.heading("What the restore changes", size="3"),
        rx.hstack(
            _figure("Create", "create"),
            _figure("Update", "update"),
            _figure("Delete", "delete"),
            _figure("Unchanged", "unchanged"),
            rx.cond(R.summary["blocked"] != "0", _figure("Blocked", "blocked")),
            spacing="6",
        ),
        rx.cond(R.config_note != "", rx.text(R.config_note, size="2")),
        rx.foreach(
            R.warnings,
            lambda w: rx.callout(w, icon="triangle_alert", color_scheme="orange", width="100%"),
        ),
        rx.box(
            data_table(["Change", "Kind", "Namespace", "Name", "Details"], R.changes, _change),
            max_height="18rem",
            overflow_y="auto",
            width="100%",
            data_testid="restore-diff",
        ),
        width="100%",
        spacing="2",
    )


def _buttons() -> rx.Component:
    return rx.hstack(
        rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
        rx.spacer(),
        rx.cond(
            R.step != "running",
            rx.button("Preview changes", variant="soft", on_click=R.preview),
        ),
        rx.cond(
            R.step == "preview",
            rx.button(
                rx.cond(R.mode == "replace", "Restore and replace", "Restore"),
                color_scheme=rx.cond(R.mode == "replace", "red", "blue"),
                on_click=R.confirm,
            ),
        ),
        width="100%",
        margin_top="1rem",
    )


def restore_wizard() -> rx.Component:
    """Render the restore dialog; nothing is applied before the preview was confirmed."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Restore from a backup"),
            rx.dialog.description(
                "Choose what to restore and where, preview the changes, then confirm.",
                size="2",
                color_scheme="gray",
            ),
            rx.box(
                rx.cond(
                    R.step == "running",
                    rx.vstack(
                        rx.text("Restore status: ", rx.text.strong(R.restore_status), size="2"),
                        rx.cond(R.op.contains("id"), operation_progress(R)),
                        width="100%",
                    ),
                    rx.vstack(
                        _choose(),
                        rx.cond(
                            R.errors_text != "",
                            rx.text(R.errors_text, color_scheme="red", size="2", role="alert"),
                        ),
                        rx.cond(R.step == "preview", _preview()),
                        width="100%",
                        spacing="4",
                    ),
                ),
                margin_top="1rem",
            ),
            _buttons(),
            max_width="52rem",
            data_testid="restore-wizard",
        ),
        open=R.open,
        on_open_change=R.set_open,
    )
