"""State of /clusters/new: the create form with its running cost estimate."""

from __future__ import annotations

import uuid
from decimal import Decimal

import reflex as rx

from mkportal import routes
from mkportal.services.actor import Actor
from mkportal.services.billing.money import money
from mkportal.services.catalog import FEATURES_BY_SLUG, catalog_json
from mkportal.services.clusters import actions
from mkportal.services.clusters.pricing import HOURS_PER_MONTH, quote
from mkportal.services.clusters.spec import DEFAULT_NETWORK, ClusterIn, parse
from mkportal.state.guard import authed
from mkportal.state.pool_editor import PoolEditorMixin, new_pool, pool_body, provider_catalog
from mkportal.state.session import SessionState


def with_dependencies(chosen: set[str]) -> set[str]:
    """Add what the chosen features depend on."""
    out = set(chosen)
    for slug in chosen:
        out |= set(FEATURES_BY_SLUG[slug].depends_on) if slug in FEATURES_BY_SLUG else set()
    return out


def without_dependents(chosen: set[str], removed: str) -> set[str]:
    """Remove `removed` and every chosen feature that needs it."""
    out = set(chosen) - {removed}
    return {s for s in out if removed not in FEATURES_BY_SLUG[s].depends_on}


class FeaturePickerMixin(rx.State, mixin=True):
    """Catalog features as checkboxes, keeping dependencies consistent."""

    features: list[str] = []
    feature_options: list[dict] = []

    def _features_changed(self) -> None:
        """React to a changed selection (a hook for subclasses)."""

    def _load_features(self) -> None:
        cat = catalog_json()
        self.feature_options = [
            {
                "slug": f["slug"],
                "name": f["name"],
                "description": f["description"],
                "price": f"{money(Decimal(f['hourly_price']) * HOURS_PER_MONTH):,.2f} "
                f"{cat['currency']}/month",
                "needs": ", ".join(FEATURES_BY_SLUG[d].name for d in f["depends_on"]),
            }
            for f in cat["features"]
        ]

    @rx.event
    def toggle_feature(self, slug: str, on: bool) -> None:
        """Select or clear a feature (with its dependencies / dependents)."""
        if slug not in FEATURES_BY_SLUG:
            return
        chosen = set(self.features)
        chosen = with_dependencies(chosen | {slug}) if on else without_dependents(chosen, slug)
        self.features = sorted(chosen)
        self._features_changed()


class NewClusterState(FeaturePickerMixin, PoolEditorMixin, SessionState):
    """The create-cluster form."""

    name: str = ""
    provider: str = "sandbox"
    region: str = ""
    version: str = ""
    service_level: str = "standard"
    cni: str = DEFAULT_NETWORK["cni"]
    pod_cidr: str = DEFAULT_NETWORK["pod_cidr"]
    service_cidr: str = DEFAULT_NETWORK["service_cidr"]
    provider_options: list[dict] = []
    region_options: list[dict] = []
    version_options: list[dict] = []
    cni_options: list[dict] = []
    level_options: list[dict] = []
    estimate_lines: list[dict] = []
    estimate_total: str = ""
    submitting: bool = False
    _idempotency_key: str = ""

    def _pools_changed(self) -> None:
        self._estimate()

    def _features_changed(self) -> None:
        self._estimate()

    def _estimate(self) -> None:
        pools = []
        for p in self.pools:
            count = str(p.get("count", "")).strip()
            pools.append((p.get("machine_type", ""), int(count) if count.isdigit() else 0))
        est = quote(self.provider, pools, self.features, self.service_level)
        self.estimate_lines = [{"label": k, "amount": f"{v:,.2f}"} for k, v in est.lines]
        self.estimate_total = f"{est.monthly_total:,.2f} {est.currency}"

    def _choose_provider(self, provider: str) -> None:
        cat = provider_catalog(provider)
        self.provider = provider
        regions, versions, cnis = (list(cat.get(k, [])) for k in ("regions", "versions", "cnis"))
        self.region_options, self.version_options, self.cni_options = (
            [{"value": v, "label": v} for v in values] for values in (regions, versions, cnis)
        )
        self.region = regions[0] if regions else ""
        self.version = versions[-1] if versions else ""
        if self.cni not in cnis and cnis:
            self.cni = cnis[0]
        self._set_machines(provider)
        machine = self.machine_options[0]["value"] if self.machine_options else ""
        self.pools = [{**p, "machine_type": machine} for p in self.pools] or [
            new_pool("default", machine)
        ]
        self._estimate()

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Reset the form with the catalog's defaults."""
        cat = catalog_json()
        self.provider_options = [
            {"value": p["name"], "label": p["title"]} for p in cat["providers"]
        ]
        self.level_options = [
            {"value": lv["slug"], "label": lv["name"], "description": lv["description"]}
            for lv in cat["service_levels"]
        ]
        self._load_features()
        self.name, self.features, self.field_errors, self.pools = "", [], {}, []
        offered = [lv["value"] for lv in self.level_options]
        self.service_level = "standard" if "standard" in offered else (offered or [""])[0]
        self.cni, self.pod_cidr, self.service_cidr = (
            DEFAULT_NETWORK["cni"],
            DEFAULT_NETWORK["pod_cidr"],
            DEFAULT_NETWORK["service_cidr"],
        )
        self._choose_provider("sandbox" if "sandbox" in self._providers() else "")
        self._idempotency_key = uuid.uuid4().hex
        self.submitting = False

    def _providers(self) -> list[str]:
        return [p["value"] for p in self.provider_options]

    @rx.event
    def set_field(self, name: str, value: str) -> None:
        """Change a top-level field of the form."""
        if name == "provider":
            if value in self._providers():
                self._choose_provider(value)
            return
        if name in (
            "name",
            "region",
            "version",
            "service_level",
            "cni",
            "pod_cidr",
            "service_cidr",
        ):
            setattr(self, name, str(value)[:100])
            self.field_errors = {k: v for k, v in self.field_errors.items() if k != name}
            if name == "service_level":
                self._estimate()

    def _body(self) -> dict:
        return {
            "name": self.name.strip(),
            "provider": self.provider,
            "region": self.region,
            "version": self.version,
            "service_level": self.service_level,
            "node_pools": [pool_body(p) for p in self.pools],
            "features": list(self.features),
            "network": {
                "cni": self.cni,
                "pod_cidr": self.pod_cidr.strip(),
                "service_cidr": self.service_cidr.strip(),
            },
        }

    @rx.event
    @authed
    def submit(self, actor: Actor):  # noqa: ANN201
        """Create the cluster (once, even when clicked twice) and open its page."""
        self.field_errors = {}
        req = parse(ClusterIn, self._body())
        cluster, _op, _created = actions.create_cluster(
            actor, req, idempotency_key=self._idempotency_key
        )
        return rx.redirect(routes.cluster(cluster.id))
