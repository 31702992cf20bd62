"""/clusters/[cluster_id]: one cluster, with its tabs from overview to operations."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.cluster_form import feature_picker, labelled_select, pool_editor
from mkportal.components.layout import shell
from mkportal.components.operation_progress import operation_progress
from mkportal.components.table import data_table
from mkportal.components.ui import copy_box, empty_state, error_callout, status_badge
from mkportal.pages.cluster_alerts import alerts_tab
from mkportal.pages.cluster_backups import backups_tab
from mkportal.pages.cluster_logs import logs_tab
from mkportal.pages.cluster_metrics import metrics_tab
from mkportal.state.cluster_detail import ClusterState as S
from mkportal.state.cluster_logs import ClusterLogsState


def _item(label: str, value: rx.Var) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _figure(label: str, value: rx.Var, test_id: str, **props) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="4", weight="bold", data_testid=test_id, **props),
        spacing="0",
    )


def cost_impact(summary: rx.Var, lines: rx.Var, test_id: str, hint: str) -> rx.Component:
    """Render the monthly cost now, after the change and the difference, and changed lines.

    `summary` and `lines` come from `state.cost.impact_summary` / `impact_lines`; `hint`
    is shown while the form still matches the cluster.
    """
    tone = rx.match(summary["tone"], ("up", "orange"), ("down", "green"), "gray")
    changed = rx.vstack(
        rx.hstack(
            _figure("Monthly cost now", summary["now"], f"{test_id}-now"),
            rx.icon("arrow-right", size=18, color="var(--gray-9)"),
            _figure("After the change", summary["after"], f"{test_id}-after"),
            rx.divider(orientation="vertical", size="2"),
            _figure(
                "Difference", summary["difference"], f"{test_id}-difference", color_scheme=tone
            ),
            spacing="4",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            lines.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Item"),
                        rx.table.column_header_cell("Now"),
                        rx.table.column_header_cell("After"),
                        rx.table.column_header_cell("Difference"),
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        lines,
                        lambda x: rx.table.row(
                            rx.table.cell(x["label"]),
                            rx.table.cell(x["now"]),
                            rx.table.cell(x["after"]),
                            rx.table.cell(x["difference"]),
                        ),
                    )
                ),
                size="1",
                width="100%",
            ),
        ),
        width="100%",
    )
    return rx.cond(
        summary.contains("now"),
        rx.card(
            rx.hstack(rx.icon("receipt", size=16), rx.heading("Cost impact", size="3")),
            rx.cond(
                summary["changed"] == "yes",
                changed,
                rx.text(
                    "This cluster costs ",
                    rx.text.strong(summary["now"], data_testid=f"{test_id}-now"),
                    ". ",
                    hint,
                    size="2",
                ),
            ),
            rx.cond(
                summary["range"] != "",
                rx.text(summary["range"], size="2", color_scheme="gray"),
            ),
            width="100%",
            data_testid=test_id,
        ),
    )


def _level_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Change the service level to ", S.level_choice_name, "?"),
            rx.alert_dialog.description(
                "The new level applies as soon as the change is made; billing follows it "
                "from that hour on.",
                size="2",
            ),
            rx.box(
                cost_impact(S.level_cost, S.level_cost_lines, "level-cost", ""),
                margin_top="1rem",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Change service level", on_click=S.set_service_level(S.level_choice))
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
            max_width="40rem",
        ),
        open=S.level_dialog,
        on_open_change=S.set_level_dialog,
    )


def _overview() -> rx.Component:
    c = S.cluster
    return rx.vstack(
        rx.cond(
            c["status"] == "failed",
            error_callout(c["status_reason"].to(str)),
        ),
        rx.cond(S.op.contains("id"), operation_progress(S)),
        rx.card(
            rx.data_list.root(
                _item("Provider", c["provider"]),
                _item("Region", c["region"]),
                _item("Kubernetes version", c["version"]),
                _item("Nodes ready", c["nodes"]),
                _item("Service level", c["service_level"]),
                _item("CNI", c["cni"]),
                _item("Pod CIDR", c["pod_cidr"]),
                _item("Service CIDR", c["service_cidr"]),
                _item("Created by", c["created_by"]),
                _item("Created", c["created_at"]),
                _item("Cluster id", c["id"]),
            ),
            width="100%",
        ),
        rx.card(
            rx.heading("Service level", size="3"),
            rx.box(
                labelled_select(
                    "Service level",
                    "service_level",
                    S.level_options,
                    c["service_level"].to(str),
                    S.choose_service_level,
                ),
                max_width="20rem",
            ),
            rx.text(
                "You see what the new level costs before it applies.",
                size="1",
                color_scheme="gray",
            ),
            _level_dialog(),
            width="100%",
        ),
        width="100%",
    )


def _observed_pool(p: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(p["name"]),
        rx.table.cell(p["machine_type"]),
        rx.table.cell(p["ready"]),
        rx.table.cell(p["autoscaling"]),
        rx.table.cell(status_badge(p["status"])),
        rx.table.cell(rx.text(p["message"], size="1")),
    )


def _pools() -> rx.Component:
    return rx.vstack(
        data_table(
            ["Pool", "Machine type", "Ready", "Autoscaling", "Status", "Last change"],
            S.observed_pools,
            _observed_pool,
        ),
        rx.heading("Change node pools", size="4", margin_top="1rem"),
        rx.text(
            "Scale a pool, switch its machine type (nodes are replaced one by one), set "
            "autoscaling bounds, or add and remove pools.",
            size="2",
            color_scheme="gray",
        ),
        pool_editor(S),
        cost_impact(
            S.pool_cost,
            S.pool_cost_lines,
            "pool-cost",
            "Change a pool to see what the change costs before you save it.",
        ),
        rx.button("Save node pools", on_click=S.save_pools),
        width="100%",
    )


def _features() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.feature_rows.length() > 0,
            data_table(
                ["Feature", "Status"],
                S.feature_rows,
                lambda f: rx.table.row(
                    rx.table.cell(f["name"]), rx.table.cell(status_badge(f["status"]))
                ),
            ),
            rx.text("No features installed.", size="2", color_scheme="gray"),
        ),
        rx.heading("Choose features", size="4", margin_top="1rem"),
        feature_picker(S),
        cost_impact(
            S.feature_cost,
            S.feature_cost_lines,
            "feature-cost",
            "Select or clear features to see what the change costs before you apply it.",
        ),
        rx.button("Apply features", on_click=S.save_features),
        width="100%",
    )


def _access() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.heading("API endpoint", size="3"),
            copy_box(S.cluster["endpoint"].to(str)),
            width="100%",
        ),
        rx.card(
            rx.heading("Connect with kubectl", size="3"),
            rx.text(
                "Download the kubeconfig, or fetch it with an API token from Settings:",
                size="2",
            ),
            copy_box(S.kubectl_snippet),
            rx.hstack(
                rx.button(
                    rx.icon("download", size=14),
                    "Download kubeconfig",
                    on_click=S.download_kubeconfig,
                    disabled=S.cluster["status"] != "running",
                ),
                rx.alert_dialog.root(
                    rx.alert_dialog.trigger(
                        rx.button("Rotate credentials", variant="soft", color_scheme="orange")
                    ),
                    rx.alert_dialog.content(
                        rx.alert_dialog.title("Rotate the credentials?"),
                        rx.alert_dialog.description(
                            "Every kubeconfig downloaded before stops working. Download a "
                            "new one when the rotation finishes."
                        ),
                        rx.hstack(
                            rx.alert_dialog.cancel(rx.button("Cancel", variant="soft")),
                            rx.alert_dialog.action(
                                rx.button(
                                    "Rotate", color_scheme="orange", on_click=S.rotate_credentials
                                )
                            ),
                            justify="end",
                            spacing="3",
                            margin_top="1rem",
                        ),
                    ),
                ),
                margin_top="0.5rem",
            ),
            width="100%",
        ),
        width="100%",
    )


def _op_row(op: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(op["title"], href=f"/operations/{op['id']}")),
        rx.table.cell(status_badge(op["status"])),
        rx.table.cell(op["requested_by"]),
        rx.table.cell(op["created_at"]),
        rx.table.cell(op["error"]),
    )


def _operations() -> rx.Component:
    return rx.cond(
        S.cluster_ops.length() > 0,
        data_table(
            ["Operation", "Status", "Requested by", "Requested", "Error"], S.cluster_ops, _op_row
        ),
        rx.text("No operations yet.", size="2"),
    )


def _delete_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                "Delete cluster",
                color_scheme="red",
                variant="soft",
                disabled=(S.cluster["status"] == "deleting") | (S.cluster["status"] == "deleted"),
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Delete this cluster?"),
            rx.dialog.description(
                "All nodes, volumes and load balancers of the cluster are deleted. "
                "This cannot be undone."
            ),
            rx.vstack(
                rx.el.label(
                    "Type the cluster name to confirm",
                    html_for="delete-confirm",
                    class_name="mk-label",
                ),
                rx.input(
                    id="delete-confirm",
                    value=S.delete_confirm,
                    on_change=S.set_delete_confirm,
                    placeholder=S.cluster["name"].to(str),
                ),
                rx.hstack(
                    rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.dialog.close(
                        rx.button(
                            "Delete permanently",
                            color_scheme="red",
                            on_click=S.delete,
                            disabled=S.delete_confirm != S.cluster["name"].to(str),
                        )
                    ),
                    justify="end",
                    width="100%",
                ),
                margin_top="1rem",
                spacing="2",
            ),
        ),
    )


def cluster_page() -> rx.Component:
    """Render one cluster."""
    return shell(
        rx.hstack(
            rx.text(S.cluster["name"].to(str)),
            status_badge(S.cluster["status"].to(str)),
            align="center",
        ),
        rx.link("← All clusters", href=routes.CLUSTERS, size="2"),
        rx.cond(
            S.missing,
            empty_state(
                "search-x",
                "Cluster not found",
                "It does not exist, or belongs to another organisation.",
            ),
            rx.cond(
                S.cluster.contains("id"),
                rx.tabs.root(
                    rx.tabs.list(
                        rx.tabs.trigger("Overview", value="overview"),
                        rx.tabs.trigger("Node pools", value="node-pools"),
                        rx.tabs.trigger("Features", value="features"),
                        rx.tabs.trigger("Access", value="access"),
                        rx.tabs.trigger("Operations", value="operations"),
                        rx.tabs.trigger("Logs", value="logs"),
                        rx.tabs.trigger("Metrics", value="metrics"),
                        rx.tabs.trigger("Alerts", value="alerts"),
                        rx.tabs.trigger("Backups", value="backups"),
                    ),
                    rx.tabs.content(_overview(), value="overview", padding_top="1rem"),
                    rx.tabs.content(_pools(), value="node-pools", padding_top="1rem"),
                    rx.tabs.content(_features(), value="features", padding_top="1rem"),
                    rx.tabs.content(_access(), value="access", padding_top="1rem"),
                    rx.tabs.content(_operations(), value="operations", padding_top="1rem"),
                    rx.tabs.content(logs_tab(), value="logs", padding_top="1rem"),
                    rx.tabs.content(metrics_tab(), value="metrics", padding_top="1rem"),
                    rx.tabs.content(alerts_tab(), value="alerts", padding_top="1rem"),
                    rx.tabs.content(backups_tab(), value="backups", padding_top="1rem"),
                    value=S.tab,
                    on_change=[S.set_tab, ClusterLogsState.set_tab],
                    width="100%",
                ),
                rx.spinner(),
            ),
        ),
        actions=[_delete_dialog()],
        on_unmount=S.stop_watching,
    )
