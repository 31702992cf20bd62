"""Route constants: every page's path in one place."""

LOGIN = "/login"
LOGOUT = "/logout"
HOME = "/"
OPERATIONS = "/operations"
SETTINGS = "/settings"
MEMBERS = "/settings/members"
INVITE = "/invite/[token]"
ADMIN = "/admin"
ADMIN_AUDIT = "/admin/audit"
ADMIN_OUTBOX = "/admin/outbox"
OPERATION = "/operations/[op_id]"
CLUSTERS = "/clusters"
CLUSTER_NEW = "/clusters/new"
CLUSTER = "/clusters/[cluster_id]"
ADMIN_CLUSTERS = "/admin/clusters"
BILLING = "/billing"
ADMIN_BILLING = "/admin/billing"
ADMIN_SERVICE_LEVELS = "/admin/service-levels"
ADMIN_PRICES = "/admin/prices"
ADMIN_LOGS = "/admin/logs"


def operation(op_id: str) -> str:
    """Return the path of one operation's page."""
    return f"/operations/{op_id}"


def cluster(cluster_id: str) -> str:
    """Return the path of one cluster's page."""
    return f"/clusters/{cluster_id}"
