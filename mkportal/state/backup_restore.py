"""State of the restore wizard: restore point, scope, target, dry-run diff, then progress.

Nothing is applied before "Preview changes" showed the dry-run diff and the restore was
confirmed; the restore then runs as a durable operation that the wizard follows live.
"""

from __future__ import annotations

import secrets
from typing import Any

import reflex as rx

from mkportal.models.org import Role
from mkportal.services import auth, operations
from mkportal.services.actor import Actor
from mkportal.services.backup import backups, restore
from mkportal.services.errors import Invalid, NotFound
from mkportal.state.cluster_backups import ClusterBackupsState, count_lines
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.operations import ACTIVE, OperationViewMixin
from mkportal.state.session import SessionState

MODES = ("merge", "replace", "clone")
DIFF_SHOWN = 200
POINTS = 50


def split_names(text: str) -> list[str]:
    """Split a comma- or space-separated list of names (empty: everything)."""
    return [p for p in text.replace(",", " ").split() if p]


def diff_rows(changes: list[Any]) -> list[dict[str, str]]:
    """Return the dry-run diff lines the wizard shows (changes first, unchanged last)."""
    order = {"blocked": 0, "delete": 1, "update": 2, "create": 3, "unchanged": 4}
    out = [
        {
            "action": c.action,
            "kind": c.kind,
            "namespace": c.namespace or "–",
            "name": c.name,
            "detail": c.reason or ", ".join(c.fields),
        }
        for c in changes
    ]
    out.sort(key=lambda r: (order.get(r["action"], 5), r["kind"], r["namespace"], r["name"]))
    return out[:DIFF_SHOWN]


class BackupRestoreState(OperationViewMixin, LiveMixin, SessionState):
    """The restore wizard of a cluster's Backups tab."""

    cluster_id: str = ""
    open: bool = False
    step: str = "choose"
    points: list[dict[str, str]] = []
    backup_id: str = ""
    kinds: list[dict[str, str]] = []
    chosen_kinds: list[str] = []
    namespaces: str = ""
    mode: str = "merge"
    clone_name: str = ""
    include_config: bool = False
    summary: dict[str, str] = {}
    changes: list[dict[str, str]] = []
    warnings: list[str] = []
    restore_status: str = ""
    config_note: str = ""
    field_errors: dict[str, str] = {}
    _idempotency: str = ""

    @rx.var
    def errors_text(self) -> str:
        """Every field error of the last preview, in one line."""
        return " ".join(self.field_errors.values())

    def _choose(self, actor: Actor, backup_id: str) -> None:
        view = backups.get_backup(actor, backup_id)
        if view.cluster_id != self.cluster_id or not view.restorable:
            raise NotFound("Not found.")
        self.backup_id = view.id
        self.kinds = count_lines(dict(view.counts or {}))
        for k in self.kinds:
            k["key"] = k["kind"] if k["group"] == "core" else f"{k['group']}/{k['kind']}"
        self.chosen_kinds = []
        self._clear_plan()

    def _clear_plan(self) -> None:
        self.summary, self.changes, self.warnings = {}, [], []
        self.config_note, self.step = "", "choose"

    @rx.event
    @authed
    def start(self, actor: Actor, backup_id: str = ""):  # noqa: ANN201
        """Open the wizard (on a given restore point, or the newest one; members and owners)."""
        actor.require_role(Role.member)
        self.cluster_id = str(self.router.page.params.get("cluster_id", ""))
        page = backups.list_backups(
            actor, self.cluster_id, page=1, per_page=POINTS, status="succeeded"
        )
        good = [b for b in page.items if b.restorable]
        if not good:
            return rx.toast.info("There is no successful backup to restore yet.")
        self.points = [
            {
                "value": b.id,
                "label": f"{when(b.started_at)} · {b.trigger} · {b.object_count} objects",
            }
            for b in good
        ]
        self._choose(actor, str(backup_id) or good[0].id)
        self.namespaces, self.mode, self.clone_name = "", "merge", ""
        self.include_config, self.field_errors = False, {}
        self.restore_status = ""
        self._idempotency = secrets.token_hex(12)
        self._show_op(None, [])
        self.open = True
        return None

    @rx.event
    def set_open(self, value: bool) -> None:
        """Close the wizard (a running restore continues; its operation is listed)."""
        self.open = bool(value)
        if not self.open:
            self.live_key = ""

    @rx.event
    @authed
    def choose_point(self, actor: Actor, backup_id: str) -> None:
        """Choose another restore point."""
        self._choose(actor, str(backup_id))

    @rx.event
    def toggle_kind(self, key: str, on: bool) -> None:
        """Include or leave out one kind (none chosen: every kind)."""
        chosen = [k for k in self.chosen_kinds if k != key]
        if on and key in {k["key"] for k in self.kinds}:
            chosen.append(key)
        self.chosen_kinds = chosen
        self._clear_plan()

    @rx.event
    def set_namespaces(self, value: str) -> None:
        """Limit the restore to namespaces (comma-separated; empty: all)."""
        self.namespaces = str(value)[:500]
        self._clear_plan()

    @rx.event
    def set_mode(self, value: str) -> None:
        """Restore into this cluster (merge or replace) or into a new cluster (clone)."""
        self.mode = value if value in MODES else "merge"
        self._clear_plan()

    @rx.event
    def set_clone_name(self, value: str) -> None:
        """Name the new cluster of a clone."""
        self.clone_name = str(value)[:63]
        self._clear_plan()

    @rx.event
    def set_include_config(self, value: bool) -> None:
        """Also bring back the configuration (version, node pools, features)."""
        self.include_config = bool(value)
        self._clear_plan()

    def _args(self) -> dict[str, Any]:
        clone = self.mode == "clone"
        return {
            "target_cluster_id": "" if clone else self.cluster_id,
            "mode": self.mode,
            "namespaces": tuple(split_names(self.namespaces)),
            "kinds": tuple(self.chosen_kinds),
            "include_config": self.include_config or clone,
            "clone_name": self.clone_name.strip() if clone else "",
        }

    @rx.event
    @authed
    def preview(self, actor: Actor) -> None:
        """Compute the dry-run diff: what would be created, updated, deleted or left alone."""
        actor.require_role(Role.member)
        self.field_errors = {}
        if self.mode == "clone" and not self.clone_name.strip():
            raise Invalid({"clone_name": "Name the new cluster."})
        plan = restore.plan_restore(actor, self.backup_id, **self._args())
        counts = dict(plan.counts)
        self.summary = {a: str(counts.get(a, 0)) for a in ("create", "update", "delete")}
        self.summary["unchanged"] = str(counts.get("unchanged", 0))
        self.summary["blocked"] = str(counts.get("blocked", 0))
        self.changes = diff_rows(list(plan.changes))
        self.warnings = [str(w) for w in plan.warnings]
        if plan.truncated or len(plan.changes) > DIFF_SHOWN:
            self.warnings.append("Only the first changes are listed; the counts are complete.")
        if plan.config_changes:
            names = ", ".join(k.replace("_", " ") for k in sorted(plan.config_changes))
            self.config_note = f"The configuration changes too: {names}."
        self.step = "preview"

    @rx.event
    @authed
    def confirm(self, actor: Actor):  # noqa: ANN201
        """Start the restore shown in the preview and follow its progress."""
        if self.step != "preview":
            return rx.toast.error("Preview the changes first.")
        view = restore.start_restore(
            actor, self.backup_id, **self._args(), idempotency_key=self._idempotency
        )
        self.step, self.restore_status = "running", view.status
        self.live_key = view.id
        return [
            rx.toast.success("Restore started."),
            BackupRestoreState.watch,
            ClusterBackupsState.load,
        ]

    def _fetch(self, token: str, key: str) -> tuple:
        actor = auth.session_actor(token)
        view = restore.get_restore(actor, key)
        if not view.operation_id:
            return view, None, []
        after = self._log_after() if self.op.get("id") == view.operation_id else 0
        op = operations.get(actor, view.operation_id)
        return view, op, operations.logs(actor, view.operation_id, after=after)

    def _apply(self, data: tuple) -> bool:
        view, op, lines = data
        self.restore_status = view.status
        if op is not None:
            self._show_op(op, lines)
        return view.status in ACTIVE or self.op_active
