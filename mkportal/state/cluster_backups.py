"""State of a cluster's Backups tab: freshness, the catalog, "Back up now" and live progress.

The services (`mkportal.services.backup`) authorize every read and change; the state
turns their views into the strings the table shows and follows a running backup or
restore once a second until it finishes.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mkportal.services import auth, operations
from mkportal.services.actor import Actor
from mkportal.services.backup import backups, freshness, restore
from mkportal.services.errors import NotFound
from mkportal.services.pagination import Page
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.operations import ACTIVE, OperationViewMixin
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

PER_PAGE = 25
RESTORES_SHOWN = 10
WRITERS = ("owner", "member", "operator")


def human_size(n: int) -> str:
    """Format a byte count: ``512 B``, ``3.4 KiB``, ``12.0 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GiB"


def human_duration(seconds: float) -> str:
    """Format a duration: ``4 s``, ``2 min 5 s``, ``1 h 3 min``."""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def count_lines(counts: dict[str, int]) -> list[dict[str, str]]:
    """List object counts per kind, largest first (``{"kind", "group", "count"}``)."""
    out = []
    for key, n in sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0])):
        group, _, kind = str(key).rpartition("/")
        out.append({"kind": kind, "group": group or "core", "count": str(n)})
    return out


def backup_row(view: Any) -> dict[str, Any]:
    """Turn a BackupView into the strings the catalog shows."""
    seconds = view.duration_seconds
    counts = dict(view.counts or {})
    top = count_lines(counts)
    summary = ", ".join(f"{c['kind']} {c['count']}" for c in top[:4])
    if len(top) > 4:
        summary += f" and {len(top) - 4} more kinds"
    return {
        "id": view.id,
        "started": when(view.started_at),
        "trigger": view.trigger,
        "status": view.status,
        "size": human_size(view.size_bytes) if view.status == "succeeded" else "–",
        "objects": str(view.object_count),
        "summary": summary,
        "counts": top,
        "duration": "–" if seconds is None else human_duration(seconds),
        "kept_by": view.kept_by or "–",
        "locked": bool(view.locked),
        "error": view.error or "",
        "operation_id": view.operation_id or "",
        "k8s_version": view.k8s_version or "",
        "config_version": str(view.config_version),
        "restorable": bool(view.restorable),
    }


def restore_row(view: Any) -> dict[str, str]:
    """Turn a RestoreView into the strings the restores list shows."""
    scope = view.scope or {}
    parts = [", ".join(scope.get("namespaces") or []), ", ".join(scope.get("kinds") or [])]
    counts = (view.result or {}).get("counts") or (view.diff or {}).get("counts") or {}
    return {
        "id": view.id,
        "created": when(view.created_at),
        "mode": view.mode,
        "scope": " · ".join(p for p in parts if p) or "everything",
        "status": view.status,
        "changes": ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v) or "–",
        "operation_id": view.operation_id,
        "error": view.error,
        "requested_by": view.requested_by,
    }


def freshness_text(fresh: Any) -> dict[str, str]:
    """Describe the newest good backup and whether it is older than the schedules allow."""
    text = fresh.message
    if fresh.newest_good_at is not None and fresh.age_seconds is not None:
        age = human_duration(fresh.age_seconds)
        text = f"The newest good backup is {age} old ({when(fresh.newest_good_at)}). {text}"
    tone = "orange" if fresh.stale else ("green" if fresh.newest_good_at else "gray")
    return {"tone": tone, "text": text, "stale": "yes" if fresh.stale else ""}


class ClusterBackupsState(OperationViewMixin, PagedMixin, LiveMixin, SessionState):
    """The Backups tab of /clusters/[cluster_id]: catalog, freshness and "Back up now"."""

    cluster_id: str = ""
    ready: bool = False
    missing: bool = False
    can_write: bool = False
    backups: list[dict] = []
    restores: list[dict[str, str]] = []
    fresh: dict[str, str] = {}
    details: dict = {}
    details_open: bool = False

    def _read(self, actor: Actor) -> tuple[Page, Any, list, Any]:
        page = backups.list_backups(actor, self.cluster_id, page=self.page, per_page=PER_PAGE)
        restores = restore.list_restores(actor, self.cluster_id, limit=RESTORES_SHOWN)
        fresh = freshness.get_freshness(actor, self.cluster_id)
        running = next((b.operation_id for b in page.items if b.status == "running"), "")
        op_id = running or str(self.op.get("id", ""))
        op = operations.get(actor, op_id) if op_id else None
        lines = operations.logs(actor, op_id, after=self._after(op_id)) if op_id else []
        return page, fresh, restores, (op, lines)

    def _after(self, op_id: str) -> int:
        return self._log_after() if self.op.get("id") == op_id else 0

    def _fetch(self, token: str, key: str) -> tuple:
        actor = auth.session_actor(token)
        return self._read(actor)

    def _apply(self, data: tuple) -> bool:
        page, fresh, restores, (op, lines) = data
        self.backups = [backup_row(b) for b in self._paged(page)]
        self.restores = [restore_row(r) for r in restores]
        self.fresh = freshness_text(fresh)
        if op is not None:
            self._show_op(op, lines)
        running = any(b["status"] == "running" for b in self.backups) or any(
            r["status"] in ACTIVE for r in self.restores
        )
        return running or self.op.get("status", "") in ACTIVE

    def _start(self, actor: Actor):  # noqa: ANN202
        self.live_key = f"{self.cluster_id}:{self.page}"
        if self._apply(self._read(actor)):
            return ClusterBackupsState.watch
        return None

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the cluster's catalog and freshness; follow a running backup."""
        cluster_id = str(self.router.page.params.get("cluster_id", ""))
        if cluster_id != self.cluster_id:
            self.page = 1
            self._show_op(None, [])
            self.details, self.details_open = {}, False
        self.cluster_id, self.missing = cluster_id, False
        self.can_write = actor.is_operator or actor.role in WRITERS
        try:
            return self._start(actor)
        except NotFound:
            self.missing, self.backups, self.restores, self.fresh = True, [], [], {}
            return None
        finally:
            self.ready = True

    @rx.event
    @authed
    def leave(self, actor: Actor) -> None:
        """Stop following when the tab (or the page) is left."""
        self.ready = False
        self._watched = ""
        self.live_key = ""

    @rx.event
    @authed
    def back_up_now(self, actor: Actor):  # noqa: ANN201
        """Start a backup of the cluster now and follow its progress."""
        view = backups.back_up_now(actor, self.cluster_id)
        self.page = 1
        if view.operation_id:
            self._show_op(operations.get(actor, view.operation_id), [])
        follow = self._start(actor)
        return [rx.toast.success("Backup started."), *([follow] if follow else [])]

    @rx.event
    @authed
    def set_locked(self, actor: Actor, backup_id: str, locked: bool):  # noqa: ANN201
        """Lock a backup (retention keeps it forever) or unlock it."""
        backups.set_locked(actor, str(backup_id), bool(locked))
        self._apply(self._read(actor))
        return rx.toast.success("Backup locked." if locked else "Backup unlocked.")

    @rx.event
    @authed
    def delete_backup(self, actor: Actor, backup_id: str):  # noqa: ANN201
        """Delete a backup and its archive (locked backups are refused)."""
        backups.delete_backup(actor, str(backup_id))
        self.details, self.details_open = {}, False
        self._apply(self._read(actor))
        return rx.toast.success("Backup deleted.")

    @rx.event
    @authed
    def show_details(self, actor: Actor, backup_id: str) -> None:
        """Show one backup's object counts per kind, versions and error."""
        view = backups.get_backup(actor, str(backup_id))
        if view.cluster_id != self.cluster_id:
            raise NotFound("Not found.")
        self.details = backup_row(view)
        self.details_open = True

    @rx.event
    def set_details_open(self, value: bool) -> None:
        """Open or close the backup details."""
        self.details_open = bool(value)
