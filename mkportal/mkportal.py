"""The Reflex app: pages, the REST API (via api_transformer) and the embedded worker."""

import reflex as rx

from mkportal import routes
from mkportal.api.app import create_api
from mkportal.api.sandbox_k8s.server import sandbox_api
from mkportal.pages.admin import admin_page, audit_page, outbox_page
from mkportal.pages.admin_alerts import alert_page, alerts_page
from mkportal.pages.admin_billing import admin_billing_page
from mkportal.pages.admin_logs import admin_logs_page
from mkportal.pages.admin_metrics import admin_metrics_page
from mkportal.pages.admin_pricing import prices_page, service_levels_page
from mkportal.pages.alarms import alarms_page
from mkportal.pages.backup_settings import backup_settings_page
from mkportal.pages.billing import billing_page
from mkportal.pages.cluster_detail import cluster_page
from mkportal.pages.cluster_new import new_cluster_page
from mkportal.pages.clusters import admin_clusters_page, clusters_page
from mkportal.pages.dashboards import dashboard_page, dashboards_page
from mkportal.pages.home import HomeState, home_page
from mkportal.pages.login import LoginState, login_page
from mkportal.pages.members import invite_page, members_page
from mkportal.pages.operations import operation_page, operations_page
from mkportal.pages.runbooks import runbook_page, runbooks_page
from mkportal.pages.settings import settings_page
from mkportal.pages.slo import admin_slo_page, slo_page
from mkportal.services.metrics.backend import embedded_metrics
from mkportal.state.admin import AdminState, AuditState, OutboxState
from mkportal.state.admin_billing import AdminBillingState
from mkportal.state.admin_logs import AdminLogsState
from mkportal.state.admin_metrics import AdminMetricsState
from mkportal.state.admin_pricing import PricesState, ServiceLevelsState
from mkportal.state.alarms import AlarmsState
from mkportal.state.alerts import AlertsState, AlertState
from mkportal.state.backup_settings import BackupSettingsState
from mkportal.state.billing import BillingState
from mkportal.state.cluster_detail import ClusterState
from mkportal.state.cluster_new import NewClusterState
from mkportal.state.clusters import AdminClustersState, ClustersState
from mkportal.state.dashboards import DashboardsState, DashboardState
from mkportal.state.members import InviteState, MembersState
from mkportal.state.operations import OperationsState, OperationState
from mkportal.state.runbooks import RunbooksState, RunbookState
from mkportal.state.session import SessionState
from mkportal.state.settings import SettingsState
from mkportal.state.slo import AdminSloState, SloState
from mkportal.worker.embedded import embedded_worker

app = rx.App(
    api_transformer=create_api(),
    stylesheets=["/styles.css"],
    head_components=[rx.script(src="/autoload.js")],
)
app.register_lifespan_task(embedded_worker)
app.register_lifespan_task(sandbox_api)
app.register_lifespan_task(embedded_metrics)


def _signed_in(component, route: str, title: str, load, *, operator: bool = False) -> None:
    guard = SessionState.require_operator if operator else SessionState.require_login
    app.add_page(component, route=route, title=f"{title} · mkportal", on_load=[guard, load])


app.add_page(login_page, route=routes.LOGIN, title="Sign in · mkportal", on_load=LoginState.on_load)
app.add_page(
    invite_page, route=routes.INVITE, title="Invitation · mkportal", on_load=InviteState.load
)
app.add_page(home_page, route=routes.HOME, title="mkportal", on_load=HomeState.go)
_signed_in(clusters_page, routes.CLUSTERS, "Clusters", ClustersState.load)
_signed_in(new_cluster_page, routes.CLUSTER_NEW, "New cluster", NewClusterState.load)
_signed_in(cluster_page, routes.CLUSTER, "Cluster", ClusterState.load)
_signed_in(operations_page, routes.OPERATIONS, "Operations", OperationsState.load)
_signed_in(operation_page, routes.OPERATION, "Operation", OperationState.load)
_signed_in(settings_page, routes.SETTINGS, "Settings", SettingsState.load)
_signed_in(members_page, routes.MEMBERS, "Members", MembersState.load)
_signed_in(backup_settings_page, routes.BACKUP_SETTINGS, "Backup storage", BackupSettingsState.load)
_signed_in(admin_page, routes.ADMIN, "Operator console", AdminState.load, operator=True)
_signed_in(
    admin_clusters_page,
    routes.ADMIN_CLUSTERS,
    "All clusters",
    AdminClustersState.load,
    operator=True,
)
_signed_in(audit_page, routes.ADMIN_AUDIT, "Audit log", AuditState.load, operator=True)
_signed_in(outbox_page, routes.ADMIN_OUTBOX, "Outbox", OutboxState.load, operator=True)
_signed_in(
    service_levels_page,
    routes.ADMIN_SERVICE_LEVELS,
    "Service levels",
    ServiceLevelsState.load,
    operator=True,
)
_signed_in(prices_page, routes.ADMIN_PRICES, "Prices", PricesState.load, operator=True)
_signed_in(billing_page, routes.BILLING, "Billing", BillingState.load)
_signed_in(alarms_page, routes.ALARMS, "Alarms", AlarmsState.load)
_signed_in(dashboards_page, routes.DASHBOARDS, "Dashboards", DashboardsState.load)
_signed_in(dashboard_page, routes.DASHBOARD, "Dashboard", DashboardState.load)
_signed_in(
    admin_logs_page, routes.ADMIN_LOGS, "Control-plane logs", AdminLogsState.load, operator=True
)
_signed_in(
    admin_metrics_page, routes.ADMIN_METRICS, "Metrics", AdminMetricsState.load, operator=True
)
_signed_in(
    admin_billing_page, routes.ADMIN_BILLING, "Billing", AdminBillingState.load, operator=True
)
_signed_in(alerts_page, routes.ADMIN_ALERTS, "Alerts", AlertsState.load, operator=True)
_signed_in(alert_page, routes.ADMIN_ALERT, "Incident", AlertState.load, operator=True)
_signed_in(runbooks_page, routes.ADMIN_RUNBOOKS, "Runbooks", RunbooksState.load, operator=True)
_signed_in(runbook_page, routes.ADMIN_RUNBOOK, "Runbook", RunbookState.load, operator=True)
_signed_in(admin_slo_page, routes.ADMIN_SLO, "SLO reports", AdminSloState.load, operator=True)
_signed_in(slo_page, routes.SLO, "SLO reports", SloState.load)
