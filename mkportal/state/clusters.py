"""State of /clusters (the organisation's) and /admin/clusters (every organisation's)."""

from __future__ import annotations

import json

import reflex as rx

from mkportal.services import auth, orgs
from mkportal.services.actor import Actor
from mkportal.services.clusters import actions
from mkportal.services.clusters.actions import STATUSES
from mkportal.services.clusters.views import ClusterView
from mkportal.services.pagination import Page
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

TRANSITIONAL = ("provisioning", "updating", "upgrading", "deleting")
STATUS_FILTERS = ["all", *STATUSES]


def cluster_row(c: ClusterView) -> dict:
    """Flatten a cluster for tables and headers."""
    nodes = sum(p.count for p in c.node_pools)
    ready = sum(p.ready_count for p in c.node_pools)
    return {
        "id": c.id,
        "org_id": c.org_id,
        "name": c.name,
        "provider": c.provider,
        "region": c.region,
        "version": c.current_version or c.version,
        "wanted_version": c.version,
        "service_level": c.service_level,
        "status": c.status,
        "status_reason": c.status_reason,
        "nodes": f"{ready}/{nodes}",
        "pools": str(len(c.node_pools)),
        "endpoint": c.endpoint,
        "created_by": c.created_by,
        "created_at": when(c.created_at),
        "cni": c.network.get("cni", ""),
        "pod_cidr": c.network.get("pod_cidr", ""),
        "service_cidr": c.network.get("service_cidr", ""),
    }


FILTERS = ("status", "provider", "version", "service_level", "search")


class ClusterListMixin(PagedMixin, LiveMixin, mixin=True):
    """A paginated, filterable cluster list that refreshes while clusters change."""

    clusters: list[dict] = []
    filters: dict[str, str] = {}

    @rx.var
    def search(self) -> str:
        """Return the current search text."""
        return self.filters.get("search", "")

    @rx.var
    def status_filter(self) -> str:
        """Return the current status filter ("all" when none)."""
        return self.filters.get("status", "") or "all"

    def _all_orgs(self) -> bool:
        return False

    def _query(self, actor: Actor, key: str) -> Page:
        wanted = json.loads(key)
        return actions.list_clusters(
            actor,
            all_orgs=self._all_orgs(),
            page=int(wanted.pop("page")),
            **{k: str(wanted.get(k, "")) for k in FILTERS},
        )

    def _fetch(self, token: str, key: str) -> Page:
        return self._query(auth.session_actor(token), key)

    def _apply(self, data: Page) -> bool:
        self.clusters = [cluster_row(c) for c in self._paged(data)]
        return any(c["status"] in TRANSITIONAL for c in self.clusters)

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the current page; follow it while a cluster on it is changing."""
        self.live_key = json.dumps({**self.filters, "page": self.page}, sort_keys=True)
        if self._apply(self._query(actor, self.live_key)):
            return type(self).watch
        return None

    @rx.event
    def filter(self, form: dict):  # noqa: ANN201
        """Apply the filter form (search, status, provider, version, service level)."""
        merged = {**self.filters, **{k: v for k, v in form.items() if k in FILTERS}}
        cleaned = {k: str(v).strip().lower()[:40] for k, v in merged.items()}
        if cleaned.get("status") == "all":
            cleaned["status"] = ""
        self.filters = {k: v for k, v in cleaned.items() if v}
        self.page = 1
        return type(self).load

    @rx.event
    def set_status_filter(self, value: str):  # noqa: ANN201
        """Filter by status."""
        return self.filter({"status": value if value in STATUS_FILTERS else "all"})


class ClustersState(ClusterListMixin, SessionState):
    """The organisation's clusters."""


class AdminClustersState(ClusterListMixin, SessionState):
    """Every organisation's clusters (operators), with their organisation's name."""

    def _all_orgs(self) -> bool:
        return True

    def _query(self, actor: Actor, key: str) -> tuple[Page, dict[str, str]]:
        actor.require_operator()
        page = super()._query(actor, key)
        return page, orgs.org_names(actor, [c.org_id for c in page.items])

    def _apply(self, data: tuple[Page, dict[str, str]]) -> bool:
        page, names = data
        busy = super()._apply(page)
        self.clusters = [
            {**c, "org_name": names.get(c["org_id"], c["org_id"])} for c in self.clusters
        ]
        return busy
