"""Service levels, operator side: list, create, change, retire and delete.

A level in use (by any cluster row, deleted ones included, or by usage records) cannot
be deleted, only retired. A retired level is no longer offered for new clusters or for a
change of level (`mkportal.services.catalog.service_levels` hides it); clusters already on
it keep it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, func, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import UsageRecord
from mkportal.models.cluster import Cluster
from mkportal.models.service_level import ServiceLevel
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, Invalid, NotFound

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
MODES = ("unattended", "attended")
MAX_CREDIT_STEPS = 10
EDITABLE = (
    "name",
    "availability_target",
    "maintenance_mode",
    "monitoring_during_maintenance",
    "support_hours",
    "credit_policy",
    "description",
    "sort_order",
)


class CreditStep(BaseModel):
    """One step of a credit policy: a miss of up to `missed_by_up_to` points earns the credit."""

    model_config = ConfigDict(extra="forbid")
    missed_by_up_to: float
    credit_percent: float


class ServiceLevelIn(BaseModel):
    """A new service level."""

    model_config = ConfigDict(extra="forbid")
    slug: str = Field(max_length=100)
    name: str = Field(max_length=200)
    availability_target: float | None = None
    maintenance_mode: str = "unattended"
    monitoring_during_maintenance: bool = False
    support_hours: str = Field(default="", max_length=200)
    credit_policy: list[CreditStep] = Field(default_factory=list, max_length=50)
    description: str = Field(default="", max_length=2000)
    sort_order: int | None = None


class ServiceLevelPatch(BaseModel):
    """A change to a service level; omitted fields stay (the slug never changes)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    availability_target: float | None = None
    maintenance_mode: str | None = None
    monitoring_during_maintenance: bool | None = None
    support_hours: str | None = Field(default=None, max_length=200)
    credit_policy: list[CreditStep] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=2000)
    sort_order: int | None = None


@dataclass
class ServiceLevelView:
    """A service level as operators see it.

    Attributes:
        clusters: Clusters on this level now (not deleted).
        clusters_ever: Cluster rows on this level, deleted ones included.
        retired: Whether it is no longer offered.

    """

    slug: str
    name: str
    availability_target: float | None
    maintenance_mode: str
    monitoring_during_maintenance: bool
    support_hours: str
    credit_policy: list[dict]
    description: str
    sort_order: int
    retired: bool
    retired_at: datetime | None
    created_at: datetime
    clusters: int
    clusters_ever: int


def _number(value: float) -> int | float:
    """Store whole numbers as ints (10, not 10.0), like the seeded policies."""
    return int(value) if float(value).is_integer() else float(value)


def check_credit_policy(steps: list[CreditStep], field: str = "credit_policy") -> list[dict]:
    """Validate a credit policy and return it as stored.

    Each step's ``missed_by_up_to`` is > 0 (percentage points below the target) and
    strictly ascending; ``credit_percent`` is 0..100 and never decreases.

    Raises:
        Invalid: With the path of the first bad step (e.g. ``credit_policy.1.credit_percent``).

    """
    errors: dict[str, str] = {}
    if len(steps) > MAX_CREDIT_STEPS:
        raise Invalid({field: f"Use at most {MAX_CREDIT_STEPS} steps."})
    prev_miss = 0.0
    prev_pct = 0.0
    for i, step in enumerate(steps):
        at = f"{field}.{i}"
        miss, pct = step.missed_by_up_to, step.credit_percent
        if not 0 < miss <= 100:
            errors[f"{at}.missed_by_up_to"] = "Must be more than 0 and at most 100 points."
        elif i and miss <= prev_miss:
            errors[f"{at}.missed_by_up_to"] = (
                f"Must be larger than the step before ({_number(prev_miss)}): "
                "steps go from the smallest miss to the largest."
            )
        if not 0 <= pct <= 100:
            errors[f"{at}.credit_percent"] = "Must be between 0 and 100 percent."
        elif pct < prev_pct:
            errors[f"{at}.credit_percent"] = (
                f"Must not be smaller than the step before ({_number(prev_pct)} %): "
                "a larger miss never earns a smaller credit."
            )
        prev_miss, prev_pct = max(prev_miss, miss), max(prev_pct, pct)
    if errors:
        raise Invalid(errors)
    return [
        {"missed_by_up_to": _number(s.missed_by_up_to), "credit_percent": _number(s.credit_percent)}
        for s in steps
    ]


def parse_credit_policy(text: str, field: str = "credit_policy") -> list[CreditStep]:
    """Parse the short form ``"0.5:10, 2:25, 100:100"`` (missed by up to : credit %).

    Raises:
        Invalid: A part is not ``number:number``.

    """
    steps: list[CreditStep] = []
    for i, part in enumerate(p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        miss, sep, pct = part.partition(":")
        try:
            if not sep:
                raise ValueError
            steps.append(
                CreditStep(
                    missed_by_up_to=float(miss.strip().rstrip("%")),
                    credit_percent=float(pct.strip().rstrip("%")),
                )
            )
        except ValueError:
            raise Invalid(
                {
                    field: f"Step {i + 1} ('{part}') is not 'points:percent'. Write the steps "
                    "as e.g. '0.5:10, 2:25, 100:100' (missed by up to 0.5 points: 10 % "
                    "credit, and so on)."
                }
            ) from None
    return steps


def format_credit_policy(policy: list[dict]) -> str:
    """Return a policy in the short form ``"0.5:10, 2:25, 100:100"``."""
    return ", ".join(f"{s['missed_by_up_to']:g}:{s['credit_percent']:g}" for s in policy)


def _check_fields(values: dict) -> dict:
    """Validate the editable fields present in `values`; return them as stored."""
    errors: dict[str, str] = {}
    out: dict = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not 1 <= len(name) <= 64:
            errors["name"] = "Use 1 to 64 characters."
        out["name"] = name
    if "availability_target" in values:
        target = values["availability_target"]
        if target is not None and not 0 < target < 100:
            errors["availability_target"] = (
                "Enter a percentage above 0 and below 100 (e.g. 99.5), or leave it empty "
                "for best effort."
            )
        out["availability_target"] = None if target is None else float(target)
    if "maintenance_mode" in values:
        if values["maintenance_mode"] not in MODES:
            errors["maintenance_mode"] = "Choose unattended or attended."
        out["maintenance_mode"] = values["maintenance_mode"]
    if values.get("monitoring_during_maintenance") is not None:
        out["monitoring_during_maintenance"] = bool(values["monitoring_during_maintenance"])
    if "support_hours" in values:
        hours = (values["support_hours"] or "").strip()
        if len(hours) > 64:
            errors["support_hours"] = "Use at most 64 characters."
        out["support_hours"] = hours
    if "description" in values:
        text = (values["description"] or "").strip()
        if len(text) > 500:
            errors["description"] = "Use at most 500 characters."
        out["description"] = text
    if values.get("sort_order") is not None:
        if not 0 <= values["sort_order"] <= 1000:
            errors["sort_order"] = "Use a position between 0 and 1000."
        out["sort_order"] = values["sort_order"]
    if values.get("credit_policy") is not None:
        try:
            out["credit_policy"] = check_credit_policy(
                [
                    s if isinstance(s, CreditStep) else CreditStep(**s)
                    for s in values["credit_policy"]
                ]
            )
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return out


def _usage(s: Session, slug: str) -> tuple[int, int, int]:
    """Return (live clusters, all cluster rows, usage records) on level `slug`."""
    live = s.exec(
        select(func.count())
        .select_from(Cluster)
        .where(Cluster.service_level == slug, col(Cluster.deleted_at).is_(None))
    ).one()
    ever = s.exec(
        select(func.count()).select_from(Cluster).where(Cluster.service_level == slug)
    ).one()
    usage = s.exec(
        select(func.count()).select_from(UsageRecord).where(UsageRecord.service_level == slug)
    ).one()
    return live, ever, usage


def _view(row: ServiceLevel, live: int, ever: int) -> ServiceLevelView:
    return ServiceLevelView(
        slug=row.slug,
        name=row.name,
        availability_target=row.availability_target,
        maintenance_mode=row.maintenance_mode,
        monitoring_during_maintenance=row.monitoring_during_maintenance,
        support_hours=row.support_hours,
        credit_policy=list(row.credit_policy or []),
        description=row.description,
        sort_order=row.sort_order,
        retired=row.retired_at is not None,
        retired_at=row.retired_at,
        created_at=row.created_at,
        clusters=live,
        clusters_ever=ever,
    )


def _get(s: Session, slug: str) -> ServiceLevel:
    row = s.get(ServiceLevel, str(slug)[:64])
    if row is None:
        raise NotFound(f"No service level '{str(slug)[:64]}'.")
    return row


def list_levels(actor: Actor) -> list[ServiceLevelView]:
    """Return every service level (retired ones too), in offer order (operators only)."""
    actor.require_operator()
    with session_scope() as s:
        rows = s.exec(
            select(ServiceLevel).order_by(col(ServiceLevel.sort_order), col(ServiceLevel.slug))
        ).all()
        live = dict(
            s.exec(
                select(Cluster.service_level, func.count())
                .where(col(Cluster.deleted_at).is_(None))
                .group_by(Cluster.service_level)
            ).all()
        )
        ever = dict(
            s.exec(
                select(Cluster.service_level, func.count()).group_by(Cluster.service_level)
            ).all()
        )
        return [_view(r, live.get(r.slug, 0), ever.get(r.slug, 0)) for r in rows]


def get_level(actor: Actor, slug: str) -> ServiceLevelView:
    """Return one service level (operators only).

    Raises:
        NotFound: No such level, or the caller is not an operator.

    """
    actor.require_operator()
    with session_scope() as s:
        row = _get(s, slug)
        live, ever, _ = _usage(s, row.slug)
        return _view(row, live, ever)


def create_level(actor: Actor, body: ServiceLevelIn) -> ServiceLevelView:
    """Create a service level (operators only); it is offered at once.

    Raises:
        Invalid: A field is not valid (field paths such as ``credit_policy.0.credit_percent``).
        Conflict: The slug is taken.

    """
    actor.require_operator()
    errors: dict[str, str] = {}
    slug = (body.slug or "").strip()
    if not SLUG_RE.match(slug):
        errors["slug"] = (
            "Use 2-32 lowercase letters, digits and hyphens, starting with a letter (e.g. 'gold')."
        )
    try:
        values = _check_fields(body.model_dump() | {"credit_policy": body.credit_policy})
    except Invalid as exc:
        errors.update(exc.errors)
        values = {}
    if errors:
        raise Invalid(errors)
    _check_policy_needs_target(values)
    with session_scope() as s:
        if s.get(ServiceLevel, slug) is not None:
            raise Conflict(f"A service level '{slug}' exists already (perhaps retired).")
        if values.get("sort_order") is None:
            top = s.exec(select(func.max(ServiceLevel.sort_order))).one()
            values["sort_order"] = (top or 0) + 1
        row = ServiceLevel(slug=slug, **values)
        s.add(row)
        audit.record(
            s,
            actor,
            "service_level.created",
            target_type="service_level",
            target_id=slug,
            detail={k: v for k, v in values.items() if k != "description"},
        )
        s.flush()
        return _view(row, 0, 0)


def _check_policy_needs_target(values: dict) -> None:
    if values.get("credit_policy") and values.get("availability_target") is None:
        raise Invalid(
            {
                "credit_policy": "A credit policy needs an availability target: set the "
                "target, or leave the policy empty for best effort."
            }
        )


def update_level(actor: Actor, slug: str, patch: ServiceLevelPatch) -> ServiceLevelView:
    """Change a service level's fields (operators only); clusters on it follow at once.

    Raises:
        NotFound: No such level.
        Invalid: A field is not valid.

    """
    actor.require_operator()
    given = patch.model_dump(exclude_unset=True)
    if "credit_policy" in given:
        given["credit_policy"] = patch.credit_policy
    if given.get("credit_policy") is None:
        given.pop("credit_policy", None)
    values = _check_fields(given)
    with session_scope() as s:
        row = _get(s, slug)
        changes = {
            k: {"from": getattr(row, k), "to": v} for k, v in values.items() if getattr(row, k) != v
        }
        _check_policy_needs_target(
            {
                "credit_policy": values.get("credit_policy", row.credit_policy),
                "availability_target": values.get("availability_target", row.availability_target),
            }
        )
        for k, change in changes.items():
            setattr(row, k, change["to"])
        if changes:
            s.add(row)
            audit.record(
                s,
                actor,
                "service_level.updated",
                target_type="service_level",
                target_id=row.slug,
                detail={"changes": changes},
            )
        live, ever, _ = _usage(s, row.slug)
        return _view(row, live, ever)


def retire_level(actor: Actor, slug: str) -> ServiceLevelView:
    """Stop offering a level (operators only); clusters on it keep it.

    Raises:
        NotFound: No such level.
        Conflict: It is the last level still offered.

    """
    actor.require_operator()
    with session_scope() as s:
        row = _get(s, slug)
        if row.retired_at is None:
            offered = s.exec(
                select(func.count())
                .select_from(ServiceLevel)
                .where(col(ServiceLevel.retired_at).is_(None))
            ).one()
            if offered <= 1:
                raise Conflict(
                    f"'{row.name}' is the last level offered; new clusters need at least one. "
                    "Create or unretire another level first."
                )
            row.retired_at = utcnow()
            s.add(row)
            audit.record(
                s, actor, "service_level.retired", target_type="service_level", target_id=row.slug
            )
        live, ever, _ = _usage(s, row.slug)
        return _view(row, live, ever)


def unretire_level(actor: Actor, slug: str) -> ServiceLevelView:
    """Offer a retired level again (operators only).

    Raises:
        NotFound: No such level.

    """
    actor.require_operator()
    with session_scope() as s:
        row = _get(s, slug)
        if row.retired_at is not None:
            row.retired_at = None
            s.add(row)
            audit.record(
                s,
                actor,
                "service_level.unretired",
                target_type="service_level",
                target_id=row.slug,
            )
        live, ever, _ = _usage(s, row.slug)
        return _view(row, live, ever)


def delete_level(actor: Actor, slug: str) -> None:
    """Delete a level that was never used (operators only).

    Raises:
        NotFound: No such level.
        Conflict: A cluster (even a deleted one) or a usage record refers to it; retire it.

    """
    actor.require_operator()
    with session_scope() as s:
        row = _get(s, slug)
        live, ever, usage = _usage(s, row.slug)
        if ever or usage:
            used = f"{ever} cluster{'s' if ever != 1 else ''}"
            if ever != live:
                used += f" ({ever - live} of them deleted)"
            if not ever:
                used = f"{usage} usage records"
            raise Conflict(
                f"'{row.name}' is used by {used} and is kept for billing and audit; "
                "retire it instead, so that it is no longer offered."
            )
        s.delete(row)
        audit.record(
            s,
            actor,
            "service_level.deleted",
            target_type="service_level",
            target_id=row.slug,
            detail={"name": row.name},
        )
