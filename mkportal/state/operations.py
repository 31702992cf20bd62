"""State of /operations (the list) and /operations/[op_id] (one operation, live)."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.services import auth, operations
from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.pagination import Page
from mkportal.state.format import row, rows
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

STATUS_FILTERS = ["all", "pending", "running", "succeeded", "failed", "cancelled"]
ACTIVE = ("pending", "running")


class OperationsState(PagedMixin, LiveMixin, SessionState):
    """The organisation's operations, newest first, filterable by status."""

    items: list[dict] = []
    status_filter: str = "all"
    all_orgs: bool = False

    def _fetch(self, token: str, key: str) -> Page:
        status, page, everyone = key.split(":")
        return self._list(auth.session_actor(token), status, int(page), everyone == "all")

    @staticmethod
    def _list(actor: Actor, status: str, page: int, all_orgs: bool = False) -> Page:
        return operations.list_operations(
            actor, status=None if status == "all" else status, page=page, all_orgs=all_orgs
        )

    def _apply(self, data: Page) -> bool:
        self.items = rows(self._paged(data))
        return any(i["status"] in ACTIVE for i in self.items)

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the current page; keep it fresh while an operation on it is active."""
        data = self._list(actor, self.status_filter, self.page, self.all_orgs)
        everyone = "all" if self.all_orgs and actor.is_operator else "org"
        self.live_key = f"{self.status_filter}:{data.page}:{everyone}"
        if self._apply(data):
            return OperationsState.watch
        return None

    @rx.event
    def set_status_filter(self, value: str):  # noqa: ANN201
        """Filter by status ("all" shows everything)."""
        self.status_filter = value if value in STATUS_FILTERS else "all"
        self.page = 1
        return OperationsState.load

    @rx.event
    def set_all_orgs(self, value: bool):  # noqa: ANN201
        """Operators: show every organisation's operations (others keep their own)."""
        self.all_orgs = bool(value)
        self.page = 1
        return OperationsState.load

    @rx.event
    @authed
    def run_diagnostic(self, actor: Actor, form: dict):  # noqa: ANN201
        """Request a diagnostic (noop) operation and open its page."""
        op, _ = operations.request(
            actor,
            "noop",
            params={"steps": form.get("steps") or 3, "sleep": form.get("sleep") or 1},
        )
        return rx.redirect(routes.operation(op.id))


class OperationViewMixin(rx.State, mixin=True):
    """An operation with its log, as `components.operation_progress` renders it."""

    op: dict = {}
    log: list[dict] = []

    @rx.var
    def op_active(self) -> bool:
        """Whether the operation is still pending or running."""
        return self.op.get("status", "") in ACTIVE

    @rx.var
    def step_text(self) -> str:
        """Describe where the operation is, e.g. "Step 2 of 5: create node pools · 40%"."""
        op = self.op
        if not op:
            return ""
        total = int(op.get("total_steps") or 0)
        step = min(int(op.get("step") or 0) + 1, max(total, 1))
        text = f"Step {step} of {total}: {op['step_name']}" if op.get("step_name") else ""
        if op.get("status") == "pending":
            text = "Waiting for a worker"
        parts = [text, f"{op.get('progress', 0)}%"]
        if int(op.get("attempts") or 0) > 1:
            parts.append(f"attempt {op['attempts']}")
        if op.get("cancel_requested"):
            parts.append("cancellation requested")
        return " · ".join(p for p in parts if p)

    def _show_op(self, op: operations.OperationView | None, lines: list) -> None:
        """Show `op`, appending new log lines (the log restarts for another operation)."""
        if op is None:
            self.op, self.log = {}, []
            return
        if self.op.get("id") != op.id:
            self.log = []
        self.op = row(op)
        known = {line["id"] for line in self.log}
        self.log = self.log + [r for r in rows(lines) if r["id"] not in known]

    def _log_after(self) -> int:
        return self.log[-1]["id"] if self.log else 0

    @rx.event
    @authed
    def cancel(self, actor: Actor):  # noqa: ANN201
        """Ask the operation to stop (at once if pending, after the current step if running)."""
        self._show_op(operations.cancel(actor, str(self.op.get("id", ""))), [])
        return [rx.toast.info("Cancellation requested."), type(self).watch]

    @rx.event
    @authed
    def retry(self, actor: Actor):  # noqa: ANN201
        """Run a failed or cancelled operation again from the step where it stopped."""
        self._show_op(operations.retry(actor, str(self.op.get("id", ""))), [])
        return [rx.toast.info("Retrying."), type(self).watch]


class OperationState(OperationViewMixin, LiveMixin, SessionState):
    """One operation with its log, refreshed live until it finishes."""

    missing: bool = False

    def _fetch(self, token: str, key: str) -> tuple:
        actor = auth.session_actor(token)
        return operations.get(actor, key), operations.logs(actor, key, after=self._log_after())

    def _apply(self, data: tuple) -> bool:
        self._show_op(*data)
        return self.op.get("status") in ACTIVE

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the operation named in the URL; follow it while it is active."""
        op_id = self.router.page.params.get("op_id", "")
        self.missing = False
        try:
            data = operations.get(actor, op_id), operations.logs(actor, op_id)
        except NotFound:
            self.missing = True
            self._show_op(None, [])
            return None
        self.log = []
        self.live_key = op_id
        if self._apply(data):
            return OperationState.watch
        return None
