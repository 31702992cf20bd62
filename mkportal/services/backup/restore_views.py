"""What callers see of restores: the dry-run plan and the restore itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from mkportal.models.backup import Restore
from mkportal.services.backup.restore_plan import ObjectChange

MAX_LISTED_CHANGES = 500


@dataclass
class RestorePlan:
    """The dry-run result: what a restore would change, before anything is applied."""

    backup_id: str
    target_cluster_id: str
    target_name: str
    mode: str
    namespaces: list[str]
    kinds: list[str]
    include_config: bool
    counts: dict[str, int]
    changes: list[ObjectChange]
    warnings: list[str]
    config_changes: dict = field(default_factory=dict)
    truncated: bool = False

    def summary(self) -> dict:
        """Return the JSON kept with the Restore row (counts, warnings, first changes)."""
        return {
            "counts": self.counts,
            "warnings": self.warnings,
            "config_changes": self.config_changes,
            "changes": [asdict(c) for c in self.changes[:MAX_LISTED_CHANGES]],
            "truncated": self.truncated or len(self.changes) > MAX_LISTED_CHANGES,
        }


@dataclass
class RestoreView:
    """A restore as callers see it."""

    id: str
    org_id: str
    backup_id: str
    target_cluster_id: str
    mode: str
    scope: dict
    include_config: bool
    status: str
    operation_id: str
    diff: dict
    result: dict
    error: str
    requested_by: str
    created_at: datetime
    finished_at: datetime | None


def view(r: Restore) -> RestoreView:
    """Convert a row."""
    return RestoreView(
        r.id,
        r.org_id,
        r.backup_id,
        r.target_cluster_id,
        r.mode,
        dict(r.scope),
        r.include_config,
        r.status,
        r.operation_id,
        dict(r.diff),
        dict(r.result),
        r.error,
        r.requested_by,
        r.created_at,
        r.finished_at,
    )
