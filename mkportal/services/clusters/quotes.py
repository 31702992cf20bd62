"""Cost impact: what a cluster costs per month now, after a change, and the difference.

Prices come from `pricing.quote` (the price version in force). Autoscaling pools are
priced at the node count they run now (clamped to the new bounds), and the range between
their minimum and maximum is reported too, so that nobody is surprised by the bill.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import Decimal

from mkportal.services.actor import Actor
from mkportal.services.catalog import FEATURES_BY_SLUG
from mkportal.services.clusters import actions
from mkportal.services.clusters.pricing import Estimate, quote
from mkportal.services.clusters.spec import (
    NATIVE_AUTOSCALING,
    ClusterIn,
    ClusterPatch,
    PoolIn,
    check_pools,
    check_service_level,
    provider_catalog,
    resolve_features,
    validate_create,
)
from mkportal.services.clusters.views import ClusterView

ZERO = Decimal(0)


@dataclass(frozen=True)
class DraftPool:
    """A node pool to price."""

    name: str
    machine_type: str
    count: int
    autoscaling: bool = False
    min: int = 0
    max: int = 0


@dataclass(frozen=True)
class Draft:
    """A cluster configuration to price."""

    provider: str
    pools: tuple[DraftPool, ...]
    features: tuple[str, ...]
    service_level: str


@dataclass(frozen=True)
class ImpactLine:
    """One priced item before and after a change (monthly)."""

    label: str
    current: Decimal
    proposed: Decimal

    @property
    def difference(self) -> Decimal:
        """Proposed minus current."""
        return self.proposed - self.current


@dataclass(frozen=True)
class CostImpact:
    """The monthly cost of a cluster now and after a change.

    Attributes:
        currency: The price version's currency.
        current: What the cluster costs per month now.
        proposed: What it costs per month after the change.
        lines: Every priced item, aligned by label (0 on the side where it is absent).
        low: With autoscaling pools: the monthly cost when they run at their minimum.
        high: With autoscaling pools: the monthly cost when they run at their maximum.

    """

    currency: str
    current: Decimal
    proposed: Decimal
    lines: list[ImpactLine]
    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def difference(self) -> Decimal:
        """Proposed minus current (negative when the change saves money)."""
        return self.proposed - self.current


@dataclass(frozen=True)
class DraftQuote:
    """The monthly estimate of a cluster that does not exist yet."""

    currency: str
    monthly: Decimal
    hourly: Decimal
    lines: list[tuple[str, Decimal]]
    low: Decimal | None = None
    high: Decimal | None = None


def with_required_features(provider: str, features: list[str], pools: list[DraftPool]) -> list:
    """Add what the chosen features depend on and what autoscaling needs (unknown slugs dropped).

    Mirrors `spec.resolve_features` without refusing a half-filled form.
    """
    chosen = {f for f in features if f in FEATURES_BY_SLUG}
    if provider not in NATIVE_AUTOSCALING and any(p.autoscaling for p in pools):
        chosen.add("cluster-autoscaler")
    for slug in list(chosen):
        chosen |= set(FEATURES_BY_SLUG[slug].depends_on)
    return sorted(chosen)


def _node_counts(draft: Draft, observed: dict[str, int], bound: str = "") -> list[tuple[str, int]]:
    out = []
    for p in draft.pools:
        count = max(p.count, 0)
        if p.autoscaling:
            if bound == "min":
                count = p.min
            elif bound == "max":
                count = p.max
            elif observed.get(p.name):
                count = min(max(observed[p.name], p.min), max(p.max, p.min))
        out.append((p.machine_type, max(count, 0)))
    return out


def monthly(draft: Draft, observed: dict[str, int] | None = None, bound: str = "") -> Estimate:
    """Price `draft` per month with the price version in force.

    Args:
        draft: The configuration.
        observed: Nodes running now per pool name (autoscaling pools are priced at this
            count, within their bounds); empty for a cluster that does not run yet.
        bound: ``"min"`` or ``"max"`` to price autoscaling pools at that bound.

    """
    pools = _node_counts(draft, observed or {}, bound)
    return quote(draft.provider, pools, list(draft.features), draft.service_level)


def _range(draft: Draft) -> tuple[Decimal | None, Decimal | None]:
    if not any(p.autoscaling for p in draft.pools):
        return None, None
    return monthly(draft, bound="min").monthly_total, monthly(draft, bound="max").monthly_total


_NODES = re.compile(r"^(\d+) x (.+ nodes)$")


def _by_item(lines: list[tuple[str, Decimal]]) -> OrderedDict[str, tuple[int, Decimal]]:
    """Sum the estimate's lines per item; node lines ("2 x s-2 nodes") per machine type."""
    out: OrderedDict[str, tuple[int, Decimal]] = OrderedDict()
    for label, amount in lines:
        m = _NODES.match(label)
        key, count = (m.group(2), int(m.group(1))) if m else (label, 0)
        n, total = out.get(key, (0, ZERO))
        out[key] = (n + count, total + amount)
    return out


def _label(key: str, before: int | None, after: int | None) -> str:
    if not key.endswith(" nodes") or (before is None and after is None):
        return key
    if before is None or after is None or before == after:
        return f"{after if after is not None else before} x {key}"
    return f"{key}: {before} -> {after}"


def compare(current: Draft, proposed: Draft, observed: dict[str, int] | None = None) -> CostImpact:
    """Price a cluster before and after a change.

    Node lines of the same machine type are compared as one item ("s-2 nodes: 2 -> 3").

    Args:
        current: The configuration as it is.
        proposed: The configuration after the change.
        observed: Nodes running now per pool name (see `monthly`).

    """
    now = monthly(current, observed)
    after = monthly(proposed, observed)
    before_items, after_items = _by_item(now.lines), _by_item(after.lines)
    keys = list(after_items) + [k for k in before_items if k not in after_items]
    lines = []
    for k in keys:
        b, a = before_items.get(k), after_items.get(k)
        label = _label(k, b[0] if b else None, a[0] if a else None)
        lines.append(ImpactLine(label, b[1] if b else ZERO, a[1] if a else ZERO))
    low, high = _range(proposed)
    return CostImpact(after.currency, now.monthly_total, after.monthly_total, lines, low, high)


def draft_of(view: ClusterView) -> Draft:
    """Return the configuration of an existing cluster."""
    return Draft(
        provider=view.provider,
        pools=tuple(
            DraftPool(
                p.name,
                p.machine_type,
                p.count,
                bool(p.autoscaling.get("enabled")),
                int(p.autoscaling.get("min", 0)),
                int(p.autoscaling.get("max", 0)),
            )
            for p in view.node_pools
        ),
        features=tuple(view.features),
        service_level=view.service_level,
    )


def observed_of(view: ClusterView) -> dict[str, int]:
    """Return the nodes running now per pool name (empty before the first observation)."""
    return {p.name: p.observed_count for p in view.node_pools if p.observed_count > 0}


def _pools(pools: list[PoolIn]) -> tuple[DraftPool, ...]:
    return tuple(
        DraftPool(
            p.name,
            p.machine_type,
            p.count,
            p.autoscaling.enabled,
            p.autoscaling.min,
            p.autoscaling.max,
        )
        for p in pools
    )


def cluster_quote(actor: Actor, cluster_id: str, patch: ClusterPatch) -> CostImpact:
    """Price a change to a cluster before it is made (same body and checks as the PATCH).

    Anyone who can see the cluster may ask; nothing is changed.

    Raises:
        NotFound: The cluster does not exist or belongs to another organisation.
        Invalid: The change does not fit the catalog (field paths as for the PATCH).

    """
    view = actions.get_cluster(actor, cluster_id)
    current = draft_of(view)
    pools = current.pools
    if patch.node_pools is not None:
        check_pools(patch.node_pools, provider_catalog(view.provider))
        pools = _pools(patch.node_pools)
    level = view.service_level
    if patch.service_level is not None:
        level = check_service_level(patch.service_level)
    features = list(view.features)
    if patch.features is not None or patch.node_pools is not None:
        pool_ins = [
            PoolIn(
                name=p.name,
                machine_type=p.machine_type,
                count=p.count,
                autoscaling={"enabled": p.autoscaling, "min": p.min, "max": p.max},
            )
            for p in pools
        ]
        chosen = patch.features if patch.features is not None else list(view.features)
        features = resolve_features(chosen, pool_ins, view.provider)
    proposed = replace(current, pools=pools, features=tuple(features), service_level=level)
    return compare(current, proposed, observed_of(view))


def create_quote(actor: Actor, req: ClusterIn) -> DraftQuote:
    """Price a cluster before it is created (same body and checks as the create).

    Any signed-in user may ask (`actor` is who asks); nothing is created.

    Raises:
        Invalid: The request does not fit the catalog (field paths as for the create).

    """
    _req, _network, features = validate_create(req)
    draft = Draft(req.provider, _pools(req.node_pools), tuple(features), req.service_level)
    est = monthly(draft)
    low, high = _range(draft)
    return DraftQuote(est.currency, est.monthly_total, est.hourly_total, est.lines, low, high)
