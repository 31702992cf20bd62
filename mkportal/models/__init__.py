"""SQLModel tables, one module per aggregate. Importing this package registers them all."""

from mkportal.models.audit import AuditEvent
from mkportal.models.auth import ApiToken, LoginAttempt, UserSession
from mkportal.models.backup import (
    Backup,
    BackupDrill,
    BackupPolicy,
    BackupSchedule,
    BackupStorage,
    ClusterConfigVersion,
    Restore,
)
from mkportal.models.billing import (
    BillingAccount,
    Credit,
    Invoice,
    InvoiceLine,
    MeterCursor,
    PriceModel,
    SloReport,
    StripeEvent,
    UsageRecord,
)
from mkportal.models.cluster import Cluster, NodePool
from mkportal.models.log_collection import LogCollection
from mkportal.models.logs import ClusterLogSettings, LogIngestToken, LogSettings, LogUsage
from mkportal.models.metrics import (
    Alarm,
    AlarmEvent,
    Dashboard,
    Incident,
    IncidentEvent,
    MetricsCollection,
    Notification,
    WebhookDelivery,
)
from mkportal.models.operation import Operation, OperationLog, OpStatus
from mkportal.models.org import Invitation, Membership, Organization, Role, User
from mkportal.models.provider import ProviderCredential
from mkportal.models.sandbox import SandboxCluster, SandboxNode, SandboxObject, SandboxPool
from mkportal.models.service_level import ServiceLevel

__all__ = [
    "Backup",
    "BackupDrill",
    "BackupPolicy",
    "BackupSchedule",
    "BackupStorage",
    "ClusterConfigVersion",
    "Restore",
    "Alarm",
    "AlarmEvent",
    "Dashboard",
    "Incident",
    "IncidentEvent",
    "MetricsCollection",
    "Notification",
    "WebhookDelivery",
    "BillingAccount",
    "Credit",
    "Invoice",
    "ClusterLogSettings",
    "LogCollection",
    "LogIngestToken",
    "LogSettings",
    "LogUsage",
    "InvoiceLine",
    "MeterCursor",
    "PriceModel",
    "SloReport",
    "StripeEvent",
    "UsageRecord",
    "ApiToken",
    "AuditEvent",
    "Cluster",
    "Invitation",
    "LoginAttempt",
    "Membership",
    "NodePool",
    "Operation",
    "OperationLog",
    "OpStatus",
    "Organization",
    "ProviderCredential",
    "Role",
    "SandboxCluster",
    "SandboxNode",
    "SandboxObject",
    "SandboxPool",
    "ServiceLevel",
    "User",
    "UserSession",
]
