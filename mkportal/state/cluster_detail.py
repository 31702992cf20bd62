"""State of /clusters/[cluster_id]: live status, node pools, features, access, operations."""

from __future__ import annotations

from dataclasses import replace

import reflex as rx

from mkportal.services import auth, operations
from mkportal.services.actor import Actor
from mkportal.services.catalog import FEATURES_BY_SLUG, service_levels
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.clusters.quotes import (
    Draft,
    DraftPool,
    compare,
    draft_of,
    observed_of,
    with_required_features,
)
from mkportal.services.clusters.spec import ClusterPatch, parse
from mkportal.services.clusters.views import ClusterView
from mkportal.services.errors import NotFound
from mkportal.settings import get_settings
from mkportal.state.cluster_new import FeaturePickerMixin
from mkportal.state.clusters import TRANSITIONAL, cluster_row
from mkportal.state.cost import impact_lines, impact_summary
from mkportal.state.format import rows
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.operations import ACTIVE, OperationViewMixin
from mkportal.state.pool_editor import PoolEditorMixin, pool_body
from mkportal.state.session import SessionState

TABS = [
    "overview",
    "node-pools",
    "features",
    "access",
    "logs",
    "metrics",
    "alerts",
    "backups",
    "operations",
]


def _pool_rows(view: ClusterView) -> list[dict]:
    return [
        {
            "name": p.name,
            "machine_type": p.machine_type,
            "count": str(p.count),
            "autoscaling": bool(p.autoscaling.get("enabled")),
            "min": str(p.autoscaling.get("min", 0)),
            "max": str(p.autoscaling.get("max", 0)),
        }
        for p in view.node_pools
    ]


def _number(value: object) -> int:
    text = str(value).strip()
    return int(text) if text.isdigit() else 0


def _normal(pools: tuple[DraftPool, ...]) -> list[tuple]:
    """Pools in a comparable form (bounds only matter with autoscaling)."""
    return sorted(
        (
            p.name,
            p.machine_type,
            p.count,
            p.autoscaling,
            p.min if p.autoscaling else 0,
            p.max if p.autoscaling else 0,
        )
        for p in pools
    )


def form_pools(rows: list[dict]) -> tuple[DraftPool, ...]:
    """Read the pool editor's rows as pools to price (what is not a number counts as 0)."""
    return tuple(
        DraftPool(
            str(r.get("name", "")).strip(),
            str(r.get("machine_type", "")),
            _number(r.get("count", "")),
            bool(r.get("autoscaling")),
            _number(r.get("min", "")),
            _number(r.get("max", "")),
        )
        for r in rows
    )


class ClusterState(
    OperationViewMixin, FeaturePickerMixin, PoolEditorMixin, LiveMixin, SessionState
):
    """One cluster, refreshed live while it changes."""

    cluster: dict = {}
    observed_pools: list[dict] = []
    feature_rows: list[dict] = []
    cluster_ops: list[dict] = []
    level_options: list[dict] = []
    missing: bool = False
    tab: str = "overview"
    delete_confirm: str = ""
    pool_cost: dict[str, str] = {}
    pool_cost_lines: list[dict[str, str]] = []
    feature_cost: dict[str, str] = {}
    feature_cost_lines: list[dict[str, str]] = []
    level_cost: dict[str, str] = {}
    level_cost_lines: list[dict[str, str]] = []
    level_choice: str = ""
    level_choice_name: str = ""
    level_dialog: bool = False
    _draft: Draft | None = None
    _observed: dict[str, int] = {}

    @rx.var
    def kubectl_snippet(self) -> str:
        """Shell lines to fetch the kubeconfig with an API token and use it."""
        c = self.cluster
        if not c:
            return ""
        base = get_settings().base_url.rstrip("/")
        return (
            f'curl -fsS -H "Authorization: Bearer $MKPORTAL_TOKEN" \\\n'
            f"  {base}/api/v1/clusters/{c['id']}/kubeconfig -o {c['name']}.kubeconfig\n"
            f"export KUBECONFIG=$PWD/{c['name']}.kubeconfig\n"
            "kubectl get nodes"
        )

    def _fetch(self, token: str, key: str) -> tuple:
        actor = auth.session_actor(token)
        view = actions.get_cluster(actor, key)
        ops = operations.list_operations(
            actor, cluster_id=key, all_orgs=actor.is_operator, per_page=10
        ).items
        lines = []
        if ops:
            after = self._log_after() if self.op.get("id") == ops[0].id else 0
            lines = operations.logs(actor, ops[0].id, after=after)
        return view, ops, lines

    def _apply(self, data: tuple) -> bool:
        view, ops, lines = data
        self.cluster = cluster_row(view)
        self.observed_pools = [
            {
                "name": p.name,
                "machine_type": p.machine_type,
                "count": p.count,
                "ready": f"{p.ready_count}/{p.count}",
                "autoscaling": (
                    f"{p.autoscaling['min']}-{p.autoscaling['max']}"
                    if p.autoscaling.get("enabled")
                    else "off"
                ),
                "status": p.status,
                "message": p.message,
            }
            for p in view.node_pools
        ]
        self.feature_rows = [
            {
                "slug": slug,
                "name": FEATURES_BY_SLUG[slug].name if slug in FEATURES_BY_SLUG else slug,
                "status": view.feature_status.get(slug, "pending"),
            }
            for slug in sorted(set(view.features) | set(view.feature_status))
        ]
        self.cluster_ops = rows(ops)
        self._show_op(ops[0] if ops else None, lines)
        if (draft_of(view), observed_of(view)) != (self._draft, self._observed):
            self._draft, self._observed = draft_of(view), observed_of(view)
            self._price_pools()
            self._price_features()
        return view.status in TRANSITIONAL or bool(ops and ops[0].status in ACTIVE)

    def _idle_seconds(self) -> float:
        return 5.0

    def _edit_from(self, view: ClusterView) -> None:
        self._set_machines(view.provider)
        self.pools = _pool_rows(view)
        self.features = list(view.features)
        self.field_errors = {}
        self._draft, self._observed = draft_of(view), observed_of(view)
        self.level_dialog = False
        self._price_pools()
        self._price_features()

    def _pools_changed(self) -> None:
        self._price_pools()

    def _features_changed(self) -> None:
        self._price_features()

    def _price_pools(self) -> None:
        """Price the pool editor's rows against the cluster as it is (saved features)."""
        cur = self._draft
        if cur is None:
            return
        pools = form_pools(self.pools)
        features = with_required_features(cur.provider, list(cur.features), list(pools))
        proposed = replace(cur, pools=pools, features=tuple(features))
        impact = compare(cur, proposed, self._observed)
        self.pool_cost = impact_summary(impact, _normal(pools) != _normal(cur.pools))
        self.pool_cost_lines = impact_lines(impact)

    def _price_features(self) -> None:
        """Price the selected features against the cluster as it is (saved pools)."""
        cur = self._draft
        if cur is None:
            return
        features = with_required_features(cur.provider, list(self.features), list(cur.pools))
        proposed = replace(cur, features=tuple(features))
        impact = compare(cur, proposed, self._observed)
        self.feature_cost = impact_summary(impact, set(features) != set(cur.features))
        self.feature_cost_lines = impact_lines(impact)

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the cluster named in the URL and follow it while it changes."""
        cluster_id = str(self.router.page.params.get("cluster_id", ""))
        self.missing, self.delete_confirm = False, ""
        if cluster_id != self.live_key:
            self.tab = "overview"
            self._show_op(None, [])
        try:
            data = self._fetch(self.session_token, cluster_id)
        except NotFound:
            self.missing, self.cluster, self._draft = True, {}, None
            return None
        self._load_features()
        self.level_options = [{"value": lv.slug, "label": lv.name} for lv in service_levels()]
        self._edit_from(data[0])
        self.live_key = cluster_id
        self._apply(data)
        return ClusterState.watch

    @rx.event
    def set_tab(self, value: str) -> None:
        """Switch tabs."""
        self.tab = value if value in TABS else "overview"

    def _patch(self, actor: Actor, body: dict, message: str):  # noqa: ANN202
        self.field_errors = {}
        view, _op = actions.update_cluster(actor, self.live_key, parse(ClusterPatch, body))
        self._edit_from(view)
        return [rx.toast.success(message), ClusterState.load]

    @rx.event
    @authed
    def save_pools(self, actor: Actor):  # noqa: ANN201
        """Apply the edited node pools (scale, machine type, autoscaling, add/remove)."""
        body = {"node_pools": [pool_body(p) for p in self.pools]}
        return self._patch(actor, body, "Node pool change requested.")

    @rx.event
    @authed
    def save_features(self, actor: Actor):  # noqa: ANN201
        """Install the selected features and remove the others."""
        return self._patch(actor, {"features": list(self.features)}, "Feature change requested.")

    @rx.event
    @authed
    def choose_service_level(self, actor: Actor, value: str) -> None:
        """Show what another service level would cost, and ask to confirm the change."""
        names = {o["value"]: o["label"] for o in self.level_options}
        cur = self._draft
        if cur is None or value not in names or value == cur.service_level:
            return
        impact = compare(cur, replace(cur, service_level=value), self._observed)
        self.level_choice, self.level_choice_name = value, names[value]
        self.level_cost = impact_summary(impact, True)
        self.level_cost_lines = impact_lines(impact)
        self.level_dialog = True

    @rx.event
    def set_level_dialog(self, open_: bool) -> None:
        """Open or close the service level confirmation."""
        self.level_dialog = bool(open_)

    @rx.event
    @authed
    def set_service_level(self, actor: Actor, value: str):  # noqa: ANN201
        """Move the cluster to another service level (after its cost was shown)."""
        self.level_dialog = False
        return self._patch(actor, {"service_level": str(value)}, f"Service level: {value}.")

    @rx.event
    @authed
    def download_kubeconfig(self, actor: Actor):  # noqa: ANN201
        """Download the kubeconfig file."""
        name, text = kubeconfig(actor, self.live_key)
        return rx.download(data=text, filename=name)

    @rx.event
    @authed
    def rotate_credentials(self, actor: Actor):  # noqa: ANN201
        """Replace the cluster's credentials; older kubeconfigs stop working."""
        actions.rotate_credentials(actor, self.live_key)
        return [rx.toast.success("Rotating credentials."), ClusterState.load]

    @rx.event
    def set_delete_confirm(self, value: str) -> None:
        """Remember what was typed in the delete confirmation box."""
        self.delete_confirm = str(value)[:100]

    @rx.event
    @authed
    def delete(self, actor: Actor):  # noqa: ANN201
        """Delete the cluster (the typed name must match)."""
        actions.delete_cluster(actor, self.live_key, confirm_name=self.delete_confirm)
        self.delete_confirm = ""
        return [rx.toast.success("Deleting the cluster."), ClusterState.load]
