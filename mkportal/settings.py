"""One typed settings object, read from the environment and `.env`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Portal settings. Every field can be set as an environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    mkportal_var: Path = Field(default=Path("var"), description="Directory for local state.")
    database_url: str = ""
    redis_url: str = ""
    reflex_redis_url: str | None = None
    secret_key: str = ""
    smtp_url: str = ""
    mail_from: str = "mkportal <noreply@mkportal.local>"
    base_url: str = "http://127.0.0.1:3000"
    port: int = 3000
    cors_origins: list[str] = Field(default_factory=list)

    queue_name: str = "mkportal"
    worker_in_process: bool = True
    worker_threads: int = 2
    worker_id: str = ""
    lease_seconds: float = 30.0
    sweep_interval: float = 5.0
    tick_interval: float = 60.0
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0

    session_hours: float = 12.0
    login_max_failures: int = 5
    login_window_seconds: int = 300
    max_body_bytes: int = 1_048_576
    invitation_days: int = 7

    provider_inline_wait: float = Field(
        default=20.0, description="Seconds a step polls the cloud before yielding the worker."
    )
    providers: list[str] = Field(
        default_factory=lambda: ["sandbox"],
        description='Enabled providers, e.g. \'["sandbox", "eks", "gke", "aks"]\'.',
    )
    eks_region: str = "eu-central-1"
    eks_endpoint_url: str = ""
    eks_access_key_id: str = ""
    eks_secret_access_key: str = ""
    eks_cluster_role_arn: str = "arn:aws:iam::123456789012:role/mkportal-eks-cluster"
    eks_node_role_arn: str = "arn:aws:iam::123456789012:role/mkportal-eks-node"
    eks_subnet_ids: list[str] = Field(default_factory=lambda: ["subnet-a", "subnet-b"])
    gke_project: str = ""
    gke_endpoint: str = ""
    gke_credentials_file: str = ""
    aks_subscription_id: str = ""
    aks_resource_group: str = "mkportal"
    aks_endpoint: str = ""
    aks_tenant_id: str = ""
    aks_client_id: str = ""
    aks_client_secret: str = ""
    sandbox_api_port: int = Field(
        default=6443,
        description="HTTPS port of the sandbox clusters' Kubernetes API (kubectl sends tokens "
        "only over TLS); 0 disables the listener.",
    )
    sandbox_api_url: str = Field(
        default="", description="Public URL of that listener; default https://<BASE_URL host>:port."
    )
    sandbox_cluster_delay: float = Field(default=12.0, description="Seconds to a control plane.")
    sandbox_node_delay: float = Field(default=4.0, description="Seconds to a ready node.")
    sandbox_fail: str = Field(
        default="",
        description="Failure injection: comma-separated action:kind pairs, e.g. "
        "'create_cluster:quota,create_node_pool:throttle' (kinds: quota, permission, throttle).",
    )

    sandbox_log_rate: float = Field(
        default=2.0, description="Simulated application log lines per second per sandbox cluster."
    )
    gke_logging_endpoint: str = Field(
        default="https://logging.googleapis.com", description="Cloud Logging API base URL."
    )
    aks_log_endpoint: str = Field(
        default="https://api.loganalytics.io", description="Log Analytics query API base URL."
    )
    aks_log_workspace_id: str = Field(
        default="", description="Log Analytics workspace of the AKS control-plane logs."
    )
    billing_currency: str = Field(default="CHF", description="Currency of new price models.")
    invoice_due_days: int = Field(default=30, description="Days until an invoice is due.")
    stripe_api_key: str = Field(default="", description="Stripe secret key; empty: Stripe off.")
    stripe_webhook_secret: str = Field(default="", description="Signing secret of the webhook.")
    stripe_api_base: str = Field(
        default="", description="Stripe API base URL (tests point it at a local server)."
    )

    prometheus_url: str = Field(
        default="", description="Operator Prometheus; empty: start an embedded one if installed."
    )
    alertmanager_url: str = Field(
        default="", description="Operator Alertmanager; empty: start an embedded one if installed."
    )
    metrics_embedded: bool = Field(
        default=True,
        description="Start Prometheus and Alertmanager with the portal when their binaries "
        "exist and no URLs are set.",
    )
    prometheus_port: int = Field(default=9090, description="Port of the embedded Prometheus.")
    alertmanager_port: int = Field(default=9093, description="Port of the embedded Alertmanager.")
    metrics_scrape_interval: str = Field(
        default="15s", description="Scrape and rule evaluation interval of the embedded stack."
    )
    metrics_token: str = Field(
        default="",
        description="Bearer token Prometheus scrapes the portal's exporter with; default "
        "derived from SECRET_KEY.",
    )
    alertmanager_secret: str = Field(
        default="",
        description="Shared secret of /api/v1/webhooks/alertmanager; default derived from "
        "SECRET_KEY.",
    )
    oncall_emails: list[str] = Field(
        default_factory=list, description="On-call addresses notified of new incidents."
    )
    oncall_webhook_url: str = Field(
        default="", description="On-call webhook (JSON POST) notified of new incidents."
    )
    alarm_interval: float = Field(
        default=30.0, description="Seconds between evaluations of the users' alarms."
    )

    @field_validator("reflex_redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def var_dir(self) -> Path:
        """The local state directory, created on first use."""
        self.mkportal_var.mkdir(parents=True, exist_ok=True)
        return self.mkportal_var

    @property
    def outbox_dir(self) -> Path:
        """Where emails are written when no SMTP server is configured."""
        path = self.var_dir / "outbox"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def model_post_init(self, __context: object) -> None:
        """Fill in the embedded defaults that depend on the var dir."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir.resolve() / 'mkportal.db'}"
        if not self.sandbox_api_url:
            host = urlparse(self.base_url).hostname or "127.0.0.1"
            self.sandbox_api_url = f"https://{host}:{self.sandbox_api_port}"
        if not self.cors_origins:
            self.cors_origins = [self.base_url.rstrip("/")]
        if not self.secret_key:
            self.secret_key = _load_or_create_secret(self.var_dir / "secret_key")
        if not self.metrics_token:
            self.metrics_token = _derive(self.secret_key, "metrics-scrape")
        if not self.alertmanager_secret:
            self.alertmanager_secret = _derive(self.secret_key, "alertmanager-webhook")

    @property
    def is_sqlite(self) -> bool:
        """Whether the portal database is SQLite."""
        return self.database_url.startswith("sqlite")


def _derive(secret_key: str, purpose: str) -> str:
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _load_or_create_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    return Settings()
