"""Price models, operator side: schedule a new version, delete a scheduled one, list them.

A version applies from its effective date until the next one. A new version must start
in the future (on a whole hour, since usage is metered by the hour), so a change is never
retroactive; a version already in force can never be deleted or changed. Every
signed-in user can read the price list (the version in force and the next scheduled one):
End-Users always know what they will pay.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import PriceModel
from mkportal.models.service_level import ServiceLevel
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.billing.money import as_utc
from mkportal.services.billing.prices import PriceComponents, PriceVersion, version_view
from mkportal.services.catalog import FEATURES, FEATURES_BY_SLUG, service_levels
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.providers.base import ProviderCatalog
from mkportal.services.providers.registry import ADAPTERS, provider_names
from mkportal.settings import get_settings

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
IN_FORCE, SCHEDULED, SUPERSEDED = "in force", "scheduled", "superseded"


def _default_currency() -> str:
    return get_settings().billing_currency


class PriceVersionIn(BaseModel):
    """A new price version.

    Attributes:
        effective_from: When it takes effect: an ISO date (midnight UTC) or datetime
            (naive values are UTC). Must be after now and on a whole hour.
        currency: ISO 4217 code, three capital letters (default: `BILLING_CURRENCY`).
        components: The prices.
        note: Why the prices change (shown in the history).

    """

    model_config = ConfigDict(extra="forbid")
    effective_from: datetime
    currency: str = Field(default_factory=_default_currency)
    components: PriceComponents
    note: str = Field(default="", max_length=500)

    @field_validator("effective_from", mode="before")
    @classmethod
    def _date_is_midnight(cls, v: object) -> object:
        if isinstance(v, date) and not isinstance(v, datetime):
            return datetime.combine(v, time(), UTC)
        return v

    @field_validator("effective_from")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return as_utc(v)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        v = v.strip()
        if not CURRENCY_RE.match(v):
            raise PydanticCustomError(
                "currency", "Use a three-letter ISO 4217 code in capitals, e.g. CHF or EUR."
            )
        return v


@dataclass
class PriceVersionView:
    """A price version with its place in time.

    Attributes:
        status: ``in force``, ``scheduled`` or ``superseded``.
        effective_until: When the next version takes over (None: open-ended).
        components: The prices, every amount as a decimal string.

    """

    id: str
    version: int
    effective_from: datetime
    effective_until: datetime | None
    currency: str
    components: dict
    note: str
    created_by: str
    created_at: datetime
    status: str


@cache
def all_catalogs() -> dict[str, ProviderCatalog]:
    """Return the catalog of every provider the portal knows, enabled or not."""
    out = {}
    for name, path in ADAPTERS.items():
        module, _, _cls = path.partition(":")
        out[name] = importlib.import_module(module).CATALOG
    return out


def check_components(c: PriceComponents, level_slugs: set[str], field: str = "components") -> None:
    """Check that every priced thing exists and every offered machine type has a price.

    Args:
        c: The prices.
        level_slugs: The existing service levels (retired ones included).
        field: The path prefix of the errors.

    Raises:
        Invalid: With paths such as ``components.node_hour.sandbox/s-9``.

    """
    catalogs = all_catalogs()
    errors: dict[str, str] = {}
    for key, price in c.node_hour.items():
        provider, _, machine = key.partition("/")
        cat = catalogs.get(provider)
        if cat is None or cat.machine(machine) is None:
            errors[f"{field}.node_hour.{key}"] = (
                f"Unknown machine type '{key}': use provider/machine_type with a machine "
                "type of the provider's catalog, e.g. sandbox/s-2."
            )
        elif price <= 0:
            errors[f"{field}.node_hour.{key}"] = (
                f"The node-hour price of {key} must be more than 0."
            )
    for key in c.feature_hour:
        if key not in FEATURES_BY_SLUG:
            errors[f"{field}.feature_hour.{key}"] = (
                f"Unknown feature '{key}'. Features: {', '.join(FEATURES_BY_SLUG)}."
            )
    for part in ("level_base_monthly", "level_percent"):
        for key in getattr(c, part):
            if key not in level_slugs:
                errors[f"{field}.{part}.{key}"] = f"No service level '{key}'."
    for provider in provider_names():
        for m in catalogs[provider].machine_types:
            key = f"{provider}/{m.name}"
            fallback = c.vcpu_hour * m.vcpu + c.gib_hour * Decimal(str(m.memory_gib))
            if key not in c.node_hour and fallback <= 0:
                errors[f"{field}.node_hour.{key}"] = (
                    f"No price for machine type {key}: set its node-hour price, or a "
                    "vCPU-hour or GiB-hour price as the fallback."
                )
    if errors:
        raise Invalid(errors)


def _month_start(when: datetime) -> bool:
    return (when.day, when.hour, when.minute, when.second, when.microsecond) == (1, 0, 0, 0, 0)


def create_version(
    actor: Actor, body: PriceVersionIn, *, now: datetime | None = None
) -> PriceVersion:
    """Schedule a new price version (operators only).

    Its number is the highest so far plus one. It applies from `body.effective_from`,
    which must be after now (never retroactive) and on a whole hour, and must not be the
    effective time of another version. A change of currency must start on the 1st of a
    month, so that no invoice mixes currencies.

    Args:
        actor: The caller; must be an operator.
        body: The version.
        now: The current time (for tests).

    Raises:
        Invalid: Bad dates, currency or prices (field paths such as ``effective_from``
            or ``components.node_hour.<provider/machine>``).
        Conflict: Another version was created at the same moment; retry.

    """
    actor.require_operator()
    now = as_utc(now or utcnow())
    eff = as_utc(body.effective_from)
    errors: dict[str, str] = {}
    if eff <= now:
        errors["effective_from"] = (
            f"Choose a time after now ({now:%Y-%m-%d %H:%M} UTC): a price change applies "
            "from its date and never retroactively."
        )
    elif (eff.minute, eff.second, eff.microsecond) != (0, 0, 0):
        errors["effective_from"] = (
            "Use a whole hour (e.g. 2027-01-01T00:00Z): usage is metered by the hour."
        )
    with session_scope() as s:
        levels = set(s.exec(select(ServiceLevel.slug)).all())
    try:
        check_components(body.components, levels)
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        with session_scope() as s:
            rows = s.exec(select(PriceModel).order_by(col(PriceModel.effective_from))).all()
            same = next((r for r in rows if as_utc(r.effective_from) == eff), None)
            if same is not None:
                errors.setdefault(
                    "effective_from",
                    f"Overlaps version {same.version}, which takes effect at the same time; "
                    f"choose another time, or delete version {same.version} first.",
                )
            before = [r for r in rows if as_utc(r.effective_from) < eff]
            after = [r for r in rows if as_utc(r.effective_from) > eff]
            if before and before[-1].currency != body.currency and not _month_start(eff):
                errors.setdefault(
                    "currency",
                    f"Version {before[-1].version} bills in {before[-1].currency}: a change of "
                    "currency must take effect at the start of a month (00:00 UTC on the "
                    "1st), so that no invoice mixes currencies.",
                )
            if (
                after
                and after[0].currency != body.currency
                and not _month_start(as_utc(after[0].effective_from))
            ):
                errors.setdefault(
                    "currency",
                    f"The next version ({after[0].version}) bills in {after[0].currency} from "
                    "a date that is not the start of a month; use its currency.",
                )
            if errors:
                raise Invalid(errors)
            row = PriceModel(
                version=max((r.version for r in rows), default=0) + 1,
                effective_from=eff,
                currency=body.currency,
                components=body.components.as_json(),
                note=body.note.strip(),
                created_by=actor.email,
            )
            s.add(row)
            audit.record(
                s,
                actor,
                "price_model.created",
                target_type="price_model",
                target_id=row.id,
                detail={
                    "version": row.version,
                    "effective_from": eff.isoformat(),
                    "currency": row.currency,
                    "note": row.note,
                },
            )
            s.flush()
            return version_view(row)
    except IntegrityError:
        raise Conflict(
            "Another price version was saved at the same moment; reload and try again."
        ) from None


def delete_version(actor: Actor, version_id: str, *, now: datetime | None = None) -> None:
    """Delete a scheduled version (operators only); one in force or past stays forever.

    Raises:
        NotFound: No such version.
        Conflict: The version is in force or was in force.

    """
    actor.require_operator()
    now = as_utc(now or utcnow())
    with session_scope() as s:
        row = s.get(PriceModel, str(version_id)[:32])
        if row is None:
            raise NotFound("No such price version.")
        eff = as_utc(row.effective_from)
        if eff <= now:
            raise Conflict(
                f"Version {row.version} took effect on {eff:%Y-%m-%d %H:%M} UTC and may "
                "have been billed: a price change is never retroactive. Schedule a new "
                "version instead."
            )
        s.delete(row)
        audit.record(
            s,
            actor,
            "price_model.deleted",
            target_type="price_model",
            target_id=row.id,
            detail={"version": row.version, "effective_from": eff.isoformat()},
        )


def _views(rows: list[PriceModel], now: datetime) -> list[PriceVersionView]:
    """Return views of `rows` (ordered by effective date), with status and end."""
    out = []
    current = max((i for i, r in enumerate(rows) if as_utc(r.effective_from) <= now), default=None)
    for i, r in enumerate(rows):
        eff = as_utc(r.effective_from)
        status = SCHEDULED if eff > now else IN_FORCE if i == current else SUPERSEDED
        out.append(
            PriceVersionView(
                id=r.id,
                version=r.version,
                effective_from=eff,
                effective_until=as_utc(rows[i + 1].effective_from) if i + 1 < len(rows) else None,
                currency=r.currency,
                components=PriceComponents.model_validate(r.components).as_json(),
                note=r.note,
                created_by=r.created_by,
                created_at=r.created_at,
                status=status,
            )
        )
    return out


def list_versions(actor: Actor, *, now: datetime | None = None) -> list[PriceVersionView]:
    """Return every version, newest effective date first, with its status (operators only)."""
    actor.require_operator()
    now = as_utc(now or utcnow())
    with session_scope() as s:
        rows = list(s.exec(select(PriceModel).order_by(col(PriceModel.effective_from))).all())
    return list(reversed(_views(rows, now)))


def price_items(components: PriceComponents) -> list[dict]:
    """Return the prices as readable rows for customers: what is charged, per what unit.

    Covers the offered service levels, every machine type of the enabled providers (with
    the vCPU/GiB fallback applied), the features, load balancers and storage. Amounts are
    decimal strings.
    """
    items: list[dict] = []

    def add(group: str, key: str, label: str, unit: str, price: Decimal) -> None:
        items.append(
            {"group": group, "key": key, "label": label, "unit": unit, "price": str(price)}
        )

    zero = Decimal(0)
    for lv in service_levels():
        add(
            "service_level",
            lv.slug,
            f"{lv.name} base fee",
            "cluster-month",
            components.level_base_monthly.get(lv.slug, zero),
        )
        pct = components.level_percent.get(lv.slug, zero)
        if pct:
            add("service_level", lv.slug, f"{lv.name} surcharge on usage", "percent", pct)
    catalogs = all_catalogs()
    for provider in provider_names():
        cat = catalogs[provider]
        for m in cat.machine_types:
            add(
                "node",
                f"{provider}/{m.name}",
                f"{cat.title}: {m.name} ({m.vcpu} vCPU, {m.memory_gib:g} GiB)",
                "node-hour",
                components.node_price(provider, m.name),
            )
    for f in FEATURES:
        add("feature", f.slug, f.name, "cluster-hour", components.feature_hour.get(f.slug, zero))
    add("other", "load_balancer", "LoadBalancer service", "hour", components.load_balancer_hour)
    add("other", "storage", "Storage (bound volumes)", "GiB-month", components.storage_gib_month)
    return items


def _version_json(v: PriceVersionView) -> dict:
    return {
        "id": v.id,
        "version": v.version,
        "effective_from": v.effective_from.isoformat(),
        "effective_until": v.effective_until.isoformat() if v.effective_until else None,
        "currency": v.currency,
        "note": v.note,
        "status": v.status,
        "components": v.components,
        "items": price_items(PriceComponents.model_validate(v.components)),
    }


def version_json(v: PriceVersionView) -> dict:
    """Render a version for the API: dates as ISO strings, money as decimal strings."""
    out = _version_json(v)
    out["created_by"] = v.created_by
    out["created_at"] = as_utc(v.created_at).isoformat()
    return out


def price_list(actor: Actor | None = None, *, now: datetime | None = None) -> dict:
    """Return the prices every signed-in user may see: the version in force and the next.

    Args:
        actor: The caller (any signed-in user; prices are the same for everyone).
        now: The current time (for tests).

    Returns:
        ``{"currency", "current", "next"}``: each version with its ``items`` (readable
        rows) and ``components``, money as decimal strings; ``next`` is None when no
        change is scheduled, ``current`` is None before the first version.

    """
    now = as_utc(now or utcnow())
    with session_scope() as s:
        rows = list(s.exec(select(PriceModel).order_by(col(PriceModel.effective_from))).all())
    views = _views(rows, now)
    current = next((v for v in views if v.status == IN_FORCE), None)
    upcoming = next((v for v in views if v.status == SCHEDULED), None)
    return {
        "currency": current.currency if current else get_settings().billing_currency,
        "current": _version_json(current) if current else None,
        "next": _version_json(upcoming) if upcoming else None,
    }
