"""State of /admin/service-levels and /admin/prices (operators only).

Thin: every handler calls `mkportal.services.billing.service_levels` or `price_admin`,
which check that the caller is an operator. Forms arrive as dicts of strings; bad input
comes back as field errors shown under the fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.billing import price_admin, service_levels
from mkportal.services.billing.price_admin import PriceVersionIn, PriceVersionView
from mkportal.services.billing.prices import PriceComponents
from mkportal.services.billing.service_levels import (
    ServiceLevelIn,
    ServiceLevelPatch,
    ServiceLevelView,
)
from mkportal.services.catalog import FEATURES
from mkportal.services.clusters.spec import parse
from mkportal.services.errors import Invalid
from mkportal.services.providers.registry import provider_names
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

PER_PAGE = 10
LEVEL_INPUTS = {
    "slug",
    "name",
    "availability_target",
    "maintenance_mode",
    "support_hours",
    "credit_policy",
    "description",
    "sort_order",
}


def _clip(form: dict, key: str, limit: int = 600) -> str:
    return str(form.get(key, "") or "").strip()[:limit]


def _slice(items: list, page: int) -> tuple[list, int, int, int]:
    pages = max(1, -(-len(items) // PER_PAGE))
    page = min(max(page, 1), pages)
    return items[(page - 1) * PER_PAGE : page * PER_PAGE], page, pages, len(items)


def inline_errors(exc: Invalid, shown: set[str], fold: tuple[str, ...] = ()) -> tuple[dict, str]:
    """Split a form's errors into those shown under a field and a summary for a toast.

    Args:
        exc: The errors.
        shown: The paths that have a field on the form.
        fold: Prefixes whose sub-paths are shown under the prefix's field (e.g.
            ``credit_policy.1.credit_percent`` under ``credit_policy``).

    Returns:
        The field errors, and the toast text (naming the errors no field shows).

    """
    inline: dict[str, str] = {}
    other: list[str] = []
    for path, message in exc.errors.items():
        top = next((f for f in fold if path.startswith(f + ".")), None)
        if top is not None:
            step = path.removeprefix(top + ".").split(".")[0]
            label = f"Step {int(step) + 1}: " if step.isdigit() else ""
            inline[top] = (inline.get(top, "") + " " + label + message).strip()
        elif path in shown:
            inline[path] = message
        else:
            other.append(f"{path}: {message}")
    text = "Please correct the fields marked in red."
    return inline, " ".join([text, *other]) if inline else "; ".join(other) or text


def _level_row(v: ServiceLevelView) -> dict:
    deleted = v.clusters_ever - v.clusters
    return {
        "slug": v.slug,
        "name": v.name,
        "target": f"{v.availability_target:g} %" if v.availability_target else "best effort",
        "mode": v.maintenance_mode,
        "monitoring": "yes" if v.monitoring_during_maintenance else "no",
        "support": v.support_hours,
        "policy": service_levels.format_credit_policy(v.credit_policy) or "none",
        "description": v.description,
        "status": "retired" if v.retired else "offered",
        "retired": v.retired,
        "clusters": f"{v.clusters}" + (f" (+{deleted} deleted)" if deleted else ""),
        "deletable": v.clusters_ever == 0,
    }


class ServiceLevelsState(PagedMixin, SessionState):
    """Service levels: the table, and a form to create or edit one."""

    levels: list[dict] = []
    form_open: bool = False
    editing: str = ""
    form: dict[str, str] = {}
    form_key: int = 0
    field_errors: dict[str, str] = {}

    def _show(self, actor: Actor) -> None:
        items, self.page, self.pages, self.total = _slice(
            [_level_row(v) for v in service_levels.list_levels(actor)], self.page
        )
        self.levels = items

    def _open(self, values: dict[str, str], editing: str) -> None:
        self.form, self.editing, self.form_open = values, editing, True
        self.field_errors = {}
        self.form_key += 1

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the levels (every status) with the clusters on each."""
        self._show(actor)

    @rx.event
    @authed
    def new_level(self, actor: Actor) -> None:
        """Open an empty form for a new level."""
        actor.require_operator()
        self._open(
            {
                "slug": "",
                "name": "",
                "availability_target": "",
                "maintenance_mode": "unattended",
                "monitoring": "",
                "support_hours": "",
                "credit_policy": "",
                "description": "",
                "sort_order": "",
            },
            "",
        )

    @rx.event
    @authed
    def edit_level(self, actor: Actor, slug: str) -> None:
        """Open the form filled with a level's values."""
        v = service_levels.get_level(actor, str(slug))
        self._open(
            {
                "slug": v.slug,
                "name": v.name,
                "availability_target": ""
                if v.availability_target is None
                else f"{v.availability_target:g}",
                "maintenance_mode": v.maintenance_mode,
                "monitoring": "on" if v.monitoring_during_maintenance else "",
                "support_hours": v.support_hours,
                "credit_policy": service_levels.format_credit_policy(v.credit_policy),
                "description": v.description,
                "sort_order": str(v.sort_order),
            },
            v.slug,
        )

    @rx.event
    @authed
    def close_form(self, actor: Actor) -> None:
        """Close the form without saving."""
        self.form_open, self.editing, self.field_errors = False, "", {}

    @staticmethod
    def _values(form: dict) -> dict:
        errors: dict[str, str] = {}
        values: dict = {
            "name": _clip(form, "name", 200),
            "maintenance_mode": _clip(form, "maintenance_mode", 32) or "unattended",
            "monitoring_during_maintenance": _clip(form, "monitoring") in ("on", "true"),
            "support_hours": _clip(form, "support_hours", 200),
            "description": _clip(form, "description", 2000),
        }
        target = _clip(form, "availability_target", 40).rstrip("%").strip()
        try:
            values["availability_target"] = float(target) if target else None
        except ValueError:
            errors["availability_target"] = (
                "Enter a percentage such as 99.5, or leave it empty for best effort."
            )
        order = _clip(form, "sort_order", 10)
        if order and not order.isdigit():
            errors["sort_order"] = (
                "Enter a whole number (the position in lists), or leave it empty."
            )
        values["sort_order"] = int(order) if order.isdigit() else None
        try:
            values["credit_policy"] = [
                s.model_dump()
                for s in service_levels.parse_credit_policy(_clip(form, "credit_policy"))
            ]
        except Invalid as exc:
            errors.update(exc.errors)
        if errors:
            raise Invalid(errors)
        return values

    @rx.event
    @authed
    def save(self, actor: Actor, form: dict):  # noqa: ANN201
        """Create the level, or save the changes to the one being edited."""
        actor.require_operator()
        self.field_errors = {}
        form = form if isinstance(form, dict) else {}
        try:
            values = self._values(form)
            if self.editing:
                if values["sort_order"] is None:
                    values.pop("sort_order")
                view = service_levels.update_level(
                    actor, self.editing, parse(ServiceLevelPatch, values)
                )
                message = f"Saved {view.name}."
            else:
                view = service_levels.create_level(
                    actor, parse(ServiceLevelIn, {"slug": _clip(form, "slug", 100), **values})
                )
                message = f"Created {view.name}; it is offered for new clusters."
        except Invalid as exc:
            self.field_errors, text = inline_errors(exc, LEVEL_INPUTS, ("credit_policy",))
            return rx.toast.error(text)
        self.form_open, self.editing = False, ""
        self._show(actor)
        return rx.toast.success(message)

    @rx.event
    @authed
    def retire(self, actor: Actor, slug: str):  # noqa: ANN201
        """Stop offering a level; clusters on it keep it."""
        view = service_levels.retire_level(actor, str(slug))
        self._show(actor)
        return rx.toast.success(f"Retired {view.name}: no longer offered for new clusters.")

    @rx.event
    @authed
    def unretire(self, actor: Actor, slug: str):  # noqa: ANN201
        """Offer a retired level again."""
        view = service_levels.unretire_level(actor, str(slug))
        self._show(actor)
        return rx.toast.success(f"{view.name} is offered again.")

    @rx.event
    @authed
    def delete(self, actor: Actor, slug: str):  # noqa: ANN201
        """Delete a level no cluster ever used."""
        service_levels.delete_level(actor, str(slug))
        if self.editing == slug:
            self.form_open, self.editing = False, ""
        self._show(actor)
        return rx.toast.success(f"Deleted the service level '{slug}'.")


def _fallback(c: PriceComponents, vcpu: int, gib: float) -> Decimal:
    return c.vcpu_hour * vcpu + c.gib_hour * Decimal(str(gib))


def _price_tables(actor: Actor, v: PriceVersionView) -> dict[str, list[dict]]:
    """Return the readable tables of one version: levels, nodes, features, other items."""
    c = PriceComponents.model_validate(v.components)
    levels = {lv.slug: lv for lv in service_levels.list_levels(actor)}
    level_rows = [
        {
            "name": levels[s].name if s in levels else s,
            "base": str(c.level_base_monthly.get(s, Decimal(0))),
            "percent": str(c.level_percent.get(s, Decimal(0))),
        }
        for s in [
            *levels,
            *sorted((set(c.level_base_monthly) | set(c.level_percent)) - set(levels)),
        ]
    ]
    enabled = set(provider_names())
    node_rows = []
    for provider, cat in price_admin.all_catalogs().items():
        for m in cat.machine_types:
            key = f"{provider}/{m.name}"
            own = c.node_hour.get(key)
            node_rows.append(
                {
                    "provider": provider + ("" if provider in enabled else " (not enabled)"),
                    "machine": m.name,
                    "size": f"{m.vcpu} vCPU · {m.memory_gib:g} GiB",
                    "price": str(own if own is not None else _fallback(c, m.vcpu, m.memory_gib)),
                    "source": "node-hour price" if own is not None else "vCPU/GiB fallback",
                }
            )
    feature_rows = [
        {"name": f.name, "price": str(c.feature_hour.get(f.slug, Decimal(0)))} for f in FEATURES
    ]
    other_rows = [
        {"name": "vCPU-hour (fallback)", "price": str(c.vcpu_hour), "unit": "per vCPU and hour"},
        {"name": "GiB-hour (fallback)", "price": str(c.gib_hour), "unit": "per GiB and hour"},
        {
            "name": "LoadBalancer service",
            "price": str(c.load_balancer_hour),
            "unit": "per service and hour",
        },
        {"name": "Storage", "price": str(c.storage_gib_month), "unit": "per GiB and month"},
    ]
    return {"levels": level_rows, "nodes": node_rows, "features": feature_rows, "other": other_rows}


def _version_row(v: PriceVersionView) -> dict:
    return {
        "id": v.id,
        "version": str(v.version),
        "status": v.status,
        "effective_from": when(v.effective_from),
        "effective_until": when(v.effective_until) if v.effective_until else "open-ended",
        "currency": v.currency,
        "note": v.note,
        "created_by": v.created_by,
        "created_at": when(v.created_at),
    }


def _form_fields(actor: Actor, c: PriceComponents) -> list[dict]:
    """Return the inputs of the new-version form, prefilled from `c`, grouped."""
    fields: list[dict] = []

    def add(group: str, path: str, label: str, value: Decimal | None, hint: str = "") -> None:
        fields.append(
            {
                "group": group,
                "path": path,
                "id": "price-" + "".join(ch if ch.isalnum() else "-" for ch in path),
                "label": label,
                "value": "" if value is None else str(value),
                "hint": hint,
            }
        )

    for lv in service_levels.list_levels(actor):
        suffix = " (retired)" if lv.retired else ""
        add(
            "levels",
            f"components.level_base_monthly.{lv.slug}",
            f"{lv.name}{suffix}: base fee per cluster-month",
            c.level_base_monthly.get(lv.slug, Decimal(0)),
        )
        add(
            "levels",
            f"components.level_percent.{lv.slug}",
            f"{lv.name}{suffix}: surcharge in % of usage",
            c.level_percent.get(lv.slug, Decimal(0)),
        )
    enabled = set(provider_names())
    for provider, cat in price_admin.all_catalogs().items():
        for m in cat.machine_types:
            key = f"{provider}/{m.name}"
            add(
                "nodes" if provider in enabled else "nodes_other",
                f"components.node_hour.{key}",
                f"{key} ({m.vcpu} vCPU, {m.memory_gib:g} GiB) per node-hour",
                c.node_hour.get(key),
            )
    add("fallback", "components.vcpu_hour", "vCPU-hour (fallback)", c.vcpu_hour)
    add("fallback", "components.gib_hour", "GiB-hour of memory (fallback)", c.gib_hour)
    for f in FEATURES:
        add(
            "features",
            f"components.feature_hour.{f.slug}",
            f"{f.name} per cluster-hour",
            c.feature_hour.get(f.slug, Decimal(0)),
        )
    add("other", "components.load_balancer_hour", "LoadBalancer per hour", c.load_balancer_hour)
    add("other", "components.storage_gib_month", "Storage per GiB-month", c.storage_gib_month)
    return fields


MAPS = ("level_base_monthly", "level_percent", "node_hour", "feature_hour")
SCALARS = ("vcpu_hour", "gib_hour", "load_balancer_hour", "storage_gib_month")


def version_body(form: dict) -> dict:
    """Turn the submitted form (``components.<part>[.<key>]`` fields) into a version body.

    Empty map entries are left out (an empty node-hour price uses the fallback); an empty
    scalar is 0.
    """
    components: dict = {part: {} for part in MAPS}
    for name, raw in form.items():
        name, value = str(name), str(raw if raw is not None else "").strip()[:40]
        part, _, key = name.removeprefix("components.").partition(".")
        if not name.startswith("components."):
            continue
        if part in MAPS and key and value:
            components[part][key] = value
        elif part in SCALARS and not key:
            components[part] = value or "0"
    when_text = _clip(form, "effective_from", 40)
    return {
        "effective_from": when_text,
        "currency": _clip(form, "currency", 10),
        "note": _clip(form, "note", 500),
        "components": components,
    }


class PricesState(PagedMixin, SessionState):
    """Price versions: the one in force (or the one picked), scheduled ones, history, form."""

    versions: list[dict] = []
    scheduled: list[dict] = []
    shown: dict[str, str] = {}
    level_rows: list[dict] = []
    node_rows: list[dict] = []
    feature_rows: list[dict] = []
    other_rows: list[dict] = []
    form_open: bool = False
    form_fields: list[dict] = []
    form_defaults: dict[str, str] = {}
    form_key: int = 0
    field_errors: dict[str, str] = {}
    _views: list[PriceVersionView] = []

    def _group(self, group: str) -> list[dict]:
        return [f for f in self.form_fields if f["group"] == group]

    @rx.var
    def level_fields(self) -> list[dict]:
        """Return the form's service-level inputs."""
        return self._group("levels")

    @rx.var
    def node_fields(self) -> list[dict]:
        """Return the form's node-hour inputs."""
        return self._group("nodes")

    @rx.var
    def other_node_fields(self) -> list[dict]:
        """Return the form's node-hour inputs of providers that are not enabled."""
        return self._group("nodes_other")

    @rx.var
    def other_node_errors(self) -> bool:
        """Whether an input of a provider that is not enabled has an error (show them)."""
        paths = {f["path"] for f in self._group("nodes_other")}
        return any(p in paths for p in self.field_errors)

    @rx.var
    def fallback_fields(self) -> list[dict]:
        """Return the form's vCPU-hour and GiB-hour inputs."""
        return self._group("fallback")

    @rx.var
    def feature_fields(self) -> list[dict]:
        """Return the form's feature inputs."""
        return self._group("features")

    @rx.var
    def other_fields(self) -> list[dict]:
        """Return the form's load balancer and storage inputs."""
        return self._group("other")

    def _read(self, actor: Actor) -> None:
        self._views = price_admin.list_versions(actor)
        rows = [_version_row(v) for v in self._views]
        self.versions, self.page, self.pages, self.total = _slice(rows, self.page)
        self.scheduled = [r for r in reversed(rows) if r["status"] == price_admin.SCHEDULED]

    def _show_version(self, actor: Actor, version_id: str) -> None:
        v = next((x for x in self._views if x.id == version_id), None)
        if v is None:
            v = next((x for x in self._views if x.status == price_admin.IN_FORCE), None)
        if v is None:
            self.shown, self.level_rows, self.node_rows = {}, [], []
            self.feature_rows, self.other_rows = [], []
            return
        self.shown = _version_row(v)
        tables = _price_tables(actor, v)
        self.level_rows, self.node_rows = tables["levels"], tables["nodes"]
        self.feature_rows, self.other_rows = tables["features"], tables["other"]

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read every version; show the prices in force (or the version being looked at)."""
        self._read(actor)
        self._show_version(actor, self.shown.get("id", ""))

    @rx.event
    @authed
    def show_version(self, actor: Actor, version_id: str) -> None:
        """Show the prices of one version."""
        self._read(actor)
        self._show_version(actor, str(version_id))

    @rx.event
    @authed
    def open_form(self, actor: Actor) -> None:
        """Open the new-version form, prefilled from the version in force."""
        self._read(actor)
        current = next((v for v in self._views if v.status == price_admin.IN_FORCE), None)
        c = PriceComponents.model_validate(current.components) if current else PriceComponents()
        self.form_fields = _form_fields(actor, c)
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        self.form_defaults = {
            "effective_from": f"{tomorrow.isoformat()}T00:00",
            "currency": current.currency if current else "",
            "note": "",
        }
        self.field_errors = {}
        self.form_open = True
        self.form_key += 1

    @rx.event
    @authed
    def close_form(self, actor: Actor) -> None:
        """Close the form without saving."""
        self.form_open, self.field_errors = False, {}

    @rx.event
    @authed
    def create(self, actor: Actor, form: dict):  # noqa: ANN201
        """Schedule the new version from the form."""
        actor.require_operator()
        self.field_errors = {}
        body = version_body(form if isinstance(form, dict) else {})
        if not body["currency"]:
            body.pop("currency")
        try:
            if not body["effective_from"]:
                raise Invalid({"effective_from": "Choose when the new prices take effect."})
            version = price_admin.create_version(actor, parse(PriceVersionIn, body))
        except Invalid as exc:
            shown = {"effective_from", "currency", "note", *(f["path"] for f in self.form_fields)}
            self.field_errors, text = inline_errors(exc, shown)
            return rx.toast.error(text)
        self.form_open = False
        self._read(actor)
        self._show_version(actor, version.id)
        return rx.toast.success(
            f"Version {version.version} is scheduled from "
            f"{version.effective_from:%Y-%m-%d %H:%M} UTC."
        )

    @rx.event
    @authed
    def delete(self, actor: Actor, version_id: str):  # noqa: ANN201
        """Delete a scheduled version."""
        price_admin.delete_version(actor, str(version_id))
        if self.shown.get("id") == version_id:
            self.shown = {}
        self._read(actor)
        self._show_version(actor, self.shown.get("id", ""))
        return rx.toast.success("Deleted the scheduled version.")
