"""Editing node pools in a form: shared by /clusters/new and the node-pools tab."""

from __future__ import annotations

import reflex as rx

from mkportal.services.catalog import catalog_json

MAX_POOLS = 20


def new_pool(name: str, machine_type: str) -> dict:
    """Return a form row for a pool with the usual defaults."""
    return {
        "name": name,
        "machine_type": machine_type,
        "count": "2",
        "autoscaling": False,
        "min": "1",
        "max": "5",
    }


def _default_bounds(row: dict) -> None:
    """Give a pool switched to autoscaling usable bounds when its own do not fit its count."""

    def number(key: str) -> int:
        text = str(row.get(key, "")).strip()
        return int(text) if text.isdigit() else -1

    count, low, high = number("count"), number("min"), number("max")
    if count >= 0 and not 0 <= low <= count <= high:
        row["min"] = str(min(1, count))
        row["max"] = str(max(count, 5))


def pool_body(row: dict) -> dict:
    """Turn a form row into the API's node pool shape (numbers left as typed for 422s)."""

    def number(value: str) -> int | str:
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else text

    auto = bool(row.get("autoscaling"))
    return {
        "name": str(row.get("name", "")).strip(),
        "machine_type": row.get("machine_type", ""),
        "count": number(row.get("count", "")),
        "autoscaling": {
            "enabled": auto,
            "min": number(row.get("min", "0")) if auto else 0,
            "max": number(row.get("max", "0")) if auto else 0,
        },
    }


def provider_catalog(provider: str) -> dict:
    """Return the catalog entry of `provider` (empty when not offered)."""
    return next((p for p in catalog_json()["providers"] if p["name"] == provider), {})


class PoolEditorMixin(rx.State, mixin=True):
    """Pools being edited as rows of strings, plus the machine types to choose from."""

    pools: list[dict] = []
    machine_options: list[dict] = []
    field_errors: dict[str, str] = {}

    def _pools_changed(self) -> None:
        """React to a pool edit (a hook for subclasses, e.g. to refresh the estimate)."""

    def _set_machines(self, provider: str) -> None:
        cat = provider_catalog(provider)
        self.machine_options = [
            {
                "value": m["name"],
                "label": f"{m['name']} · {m['vcpu']} vCPU · {m['memory_gib']:g} GiB · "
                f"{m['hourly_price']}/h",
            }
            for m in cat.get("machine_types", [])
        ]

    @rx.event
    def set_pool_field(self, index: int, name: str, value: str | bool) -> None:
        """Change one field of one pool row."""
        if not 0 <= int(index) < len(self.pools) or name not in new_pool("", ""):
            return
        pools = [dict(p) for p in self.pools]
        row = pools[int(index)]
        row[name] = value if name == "autoscaling" else str(value)[:64]
        if name == "autoscaling" and value:
            _default_bounds(row)
        self.pools = pools
        self._pools_changed()

    @rx.event
    def add_pool(self) -> None:
        """Add a pool row."""
        if len(self.pools) >= MAX_POOLS:
            return
        taken = {p["name"] for p in self.pools}
        name = next(f"pool-{i}" for i in range(1, MAX_POOLS + 2) if f"pool-{i}" not in taken)
        machine = self.machine_options[0]["value"] if self.machine_options else ""
        self.pools = [*self.pools, new_pool(name, machine)]
        self._pools_changed()

    @rx.event
    def remove_pool(self, index: int) -> None:
        """Remove a pool row (one always stays)."""
        if len(self.pools) > 1 and 0 <= int(index) < len(self.pools):
            self.pools = [p for i, p in enumerate(self.pools) if i != int(index)]
            self._pools_changed()
