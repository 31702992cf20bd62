"""State of a cluster's Logs tab: collection, search, histogram, context and live tail.

`LogBrowserMixin` holds what the cluster's tab and the operators' /admin/logs share: the
time range, the filters, a page of lines with highlighted search terms, "Load older"
over keyset cursors, the volume histogram, a line's context and the downloads. The
services (`mkportal.services.logs.query`) authorize every read; the state keeps the
lines it shows and, in backend-only vars, the records behind them for the downloads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
import reflex as rx

from mkportal.components.log_view import histogram_figure
from mkportal.models.base import utcnow
from mkportal.services import auth
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound, ServiceError
from mkportal.services.logs import collection, retention
from mkportal.services.logs.export import as_json_lines, as_text, export_records, record_dict
from mkportal.services.logs.query import (
    LogFilters,
    line_context,
    log_histogram,
    search_logs,
    tail_logs,
)
from mkportal.services.logs.store import LEVELS, LogRecord
from mkportal.state.collection import collection_view, enable_from_form
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.session import SessionState

PRESET_SPANS = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
PAGE_LINES = 100
MAX_SHOWN = 2000
DOWNLOAD_MAX = 20_000
TAIL_CAP = 500
TAIL_BATCH = 200
HISTOGRAM_BUCKETS = 60
CONTEXT_LINES = 15
FILTER_FIELDS = ("namespace", "pod", "container", "component", "text")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def message_parts(message: str, highlights: list[tuple[int, int]]) -> list[dict[str, str]]:
    """Split a message into plain and matched parts (``{"t", "h"}``, ``h`` is "1" on a match)."""
    parts: list[dict[str, str]] = []
    pos = 0
    for start, end in sorted(highlights):
        if start < pos or end <= start:
            continue
        if start > pos:
            parts.append({"t": message[pos:start], "h": ""})
        parts.append({"t": message[start:end], "h": "1"})
        pos = end
    if pos < len(message) or not parts:
        parts.append({"t": message[pos:], "h": ""})
    return parts


def source_of(r: LogRecord) -> str:
    """Where a line comes from: ``namespace/pod/container``, or the component."""
    if r.component:
        return r.component
    return "/".join(p for p in (r.namespace, r.pod, r.container) if p)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("username") or value.get("name") or value.get("code") or "")
    return str(value)


def audit_fields(attrs: dict) -> dict[str, str]:
    """Read verb, user, resource, namespace and status from an audit line's attributes.

    Both flat attributes (``verb``, ``user``, ``resource``, ``namespace``, ``status``) and
    the fields of a Kubernetes audit event (``user.username``, ``objectRef``,
    ``responseStatus.code``) are understood.
    """
    ref = attrs.get("objectRef") if isinstance(attrs.get("objectRef"), dict) else {}
    resource = attrs.get("resource") or ref.get("resource", "")
    name = attrs.get("name") or ref.get("name", "")
    status = attrs.get("status", attrs.get("code", attrs.get("responseStatus", "")))
    return {
        "verb": _text(attrs.get("verb")),
        "user": _text(attrs.get("user", attrs.get("username"))),
        "resource": f"{_text(resource)}/{_text(name)}" if name else _text(resource),
        "audit_namespace": _text(attrs.get("namespace") or ref.get("namespace", "")),
        "status": _text(status),
    }


def shown_line(r: LogRecord) -> dict[str, Any]:
    """Return what the page shows of a line (audit lines carry their structured fields)."""
    line: dict[str, Any] = {
        "id": str(r.id),
        "ts": r.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "level": r.level,
        "source": source_of(r),
        "parts": message_parts(r.message, r.highlights),
    }
    if r.component == "audit":
        line.update(audit_fields(r.attrs))
    return line


def parse_local(value: str) -> datetime | None:
    """Parse a ``datetime-local`` input value as UTC (None when empty or malformed)."""
    value = (value or "").strip()
    for fmt in (LOCAL_FORMAT, LOCAL_FORMAT + ":%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def bucket_label(start: datetime, span: timedelta) -> str:
    """Label a histogram bucket by its start (with the date when the range is long)."""
    start = start.astimezone(UTC)
    return start.strftime("%d %b %H:%M" if span > timedelta(hours=24) else "%H:%M")


def _mib(n: int) -> str:
    return f"{n / 1048576:,.1f}"


class LogBrowserMixin(rx.State, mixin=True):
    """Time range, filters, results, histogram, context and downloads of one log stream."""

    range_preset: str = "1h"
    custom_start: str = ""
    custom_end: str = ""
    lines: list[dict] = []
    has_older: bool = False
    result_note: str = ""
    histogram: go.Figure = go.Figure()
    histogram_total: str = ""
    context_lines: list[dict] = []
    context_for: str = ""
    context_open: bool = False
    searched: bool = False
    field_errors: dict[str, str] = {}
    _filters: dict[str, str] = {}
    _levels: tuple[str, ...] = ()
    _older: str = ""
    _records: list[dict] = []

    def _target(self) -> str:
        """Return the cluster whose logs are browsed ("" when none is chosen)."""
        raise NotImplementedError

    def _stream(self) -> str:
        return "app"

    def _bounds(self) -> tuple[datetime, datetime]:
        if self.range_preset == "custom":
            start, end = parse_local(self.custom_start), parse_local(self.custom_end)
            if start is None or end is None:
                raise Invalid({"start": "Give both a start and an end (UTC)."})
            return start, end
        now = utcnow()
        return now - PRESET_SPANS.get(self.range_preset, PRESET_SPANS["1h"]), now

    def _log_filters(self, **extra: Any) -> LogFilters:
        start, end = self._bounds()
        f = self._filters
        return LogFilters(
            stream=self._stream(),
            start=start,
            end=end,
            namespace=f.get("namespace", ""),
            pod=f.get("pod", ""),
            container=f.get("container", ""),
            component=f.get("component", ""),
            levels=self._levels,
            text=f.get("text", ""),
            **extra,
        )

    def _clear_results(self) -> None:
        self.lines, self._records, self._older = [], [], ""
        self.has_older, self.result_note, self.searched = False, "", False
        self.histogram, self.histogram_total = go.Figure(), ""
        self.context_lines, self.context_for, self.context_open = [], "", False

    def _note(self) -> None:
        n = len(self.lines)
        more = " (more are older: load them below)" if self.has_older else ""
        self.result_note = f"{n} line{'s' if n != 1 else ''}, newest first{more}."

    def _run(self, actor: Actor) -> None:
        """Read the first page and the histogram of the current query."""
        self.field_errors = {}
        target = self._target()
        self._clear_results()
        if not target:
            return
        filters = self._log_filters(limit=PAGE_LINES)
        page = search_logs(actor, target, filters)
        buckets = log_histogram(actor, target, filters, HISTOGRAM_BUCKETS)
        self.lines = [shown_line(r) for r in page.items]
        self._records = [record_dict(r) for r in page.items]
        self._older = page.older.encode() if page.older else ""
        self.has_older = bool(self._older)
        self.searched = True
        self._note()
        span = filters.end - filters.start
        total = sum(b.count for b in buckets)
        if not total:
            return
        self.histogram_total = f"{total} matching line{'s' if total != 1 else ''} in the range."
        self.histogram = histogram_figure(
            {"start": bucket_label(b.start, span), "levels": b.levels} for b in buckets
        )

    @rx.event
    @authed
    def search(self, actor: Actor, form: dict) -> None:
        """Apply the filters and the search text of the form."""
        self._filters = {
            name: str(form.get(name, "")).strip()[:512]
            for name in FILTER_FIELDS
            if str(form.get(name, "")).strip() not in ("", "all")
        }
        level = str(form.get("level", "all"))
        self._levels = (level,) if level in LEVELS else ()
        if self.range_preset == "custom":
            self.custom_start = str(form.get("start", ""))[:32]
            self.custom_end = str(form.get("end", ""))[:32]
        self._run(actor)

    @rx.event
    @authed
    def set_range(self, actor: Actor, preset: str) -> None:
        """Choose a time range preset (15 min, 1 h, 24 h, 7 d) or a custom range."""
        if preset == "custom":
            if not self.custom_start or not self.custom_end:
                end = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
                self.custom_start = (end - timedelta(hours=1)).strftime(LOCAL_FORMAT)
                self.custom_end = end.strftime(LOCAL_FORMAT)
            self.range_preset = "custom"
            return
        if preset in PRESET_SPANS:
            self.range_preset = preset
            self._run(actor)

    @rx.event
    @authed
    def load_older(self, actor: Actor) -> None:
        """Append the next page of older lines (keyset cursor)."""
        target = self._target()
        if not target or not self._older or len(self.lines) >= MAX_SHOWN:
            return
        page = search_logs(actor, target, self._log_filters(limit=PAGE_LINES, cursor=self._older))
        self.lines = self.lines + [shown_line(r) for r in page.items]
        self._records = self._records + [record_dict(r) for r in page.items]
        self._older = page.older.encode() if page.older else ""
        self.has_older = bool(self._older) and len(self.lines) < MAX_SHOWN
        self._note()
        if self._older and not self.has_older:
            self.result_note += f" Only the newest {MAX_SHOWN} are shown: narrow the filters."

    @rx.event
    @authed
    def show_context(self, actor: Actor, line_id: str) -> None:
        """Show the lines around one line, from the same source."""
        target = self._target()
        if not target or not str(line_id).isdigit():
            raise NotFound("Not found.")
        found = line_context(
            actor,
            target,
            int(line_id),
            stream=self._stream(),
            before=CONTEXT_LINES,
            after=CONTEXT_LINES,
        )
        self.context_lines = [shown_line(r) for r in found]
        self.context_for = str(line_id)
        self.context_open = True

    @rx.event
    @authed
    def set_context_open(self, actor: Actor, value: bool) -> None:
        """Open or close the context dialog."""
        self.context_open = bool(value)

    @rx.event
    @authed
    def download(self, actor: Actor, fmt: str):  # noqa: ANN201
        """Download the whole result of the current search (text or JSON lines)."""
        target = self._target()
        if not target or not self._records:
            return rx.toast.info("Nothing to download: search first.")
        records = list(export_records(actor, target, self._log_filters(limit=1000), DOWNLOAD_MAX))
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        note = (
            []
            if len(records) < DOWNLOAD_MAX
            else [
                rx.toast.info(
                    f"The download holds the newest {DOWNLOAD_MAX:,} lines; the API's "
                    "/logs/export streams any number."
                )
            ]
        )
        if fmt == "jsonl":
            data, name = as_json_lines(records), f"logs-{target}-{stamp}.jsonl"
        else:
            data, name = as_text(records), f"logs-{target}-{stamp}.log"
        return [rx.download(data=data, filename=name), *note]


class ClusterLogsState(LogBrowserMixin, LiveMixin, SessionState):
    """The Logs tab of /clusters/[cluster_id]."""

    on_tab: bool = False
    ready: bool = False
    cluster_id: str = ""
    missing: bool = False
    collection: dict[str, str] = {}
    retention_days: str = ""
    quota_used: str = ""
    quota_reached: bool = False
    can_set_retention: bool = False
    can_collect: bool = False
    stream: str = "app"
    cp_allowed: bool = False
    tailing: bool = False
    tail_lines: list[dict] = []
    _tail_cursor: str = ""
    _tail_runs: int = 0

    def _target(self) -> str:
        return self.cluster_id

    def _stream(self) -> str:
        return self.stream

    def _show_collection(self, actor: Actor) -> None:
        self.collection = collection_view(collection.status(actor, self.cluster_id))

    def _show_retention(self, actor: Actor) -> None:
        settings = retention.get_org_settings(actor)
        self.retention_days = str(settings.app_retention_days)
        self.quota_used = (
            f"{_mib(settings.used_bytes)} MiB of the {_mib(settings.quota_bytes)} MiB quota "
            f"({100 * settings.used_bytes // max(settings.quota_bytes, 1)} %)"
        )
        self.quota_reached = settings.used_bytes >= settings.quota_bytes
        self.can_set_retention = actor.is_operator or actor.role == "owner"
        self.can_collect = actor.is_operator or actor.role in ("owner", "member")
        self.cp_allowed = actor.is_operator or settings.operator_grants_control_plane
        if not self.cp_allowed:
            self.stream = "app"

    def _stop_tail(self) -> None:
        self.tailing = False
        self._watched = ""
        self.live_key = ""

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the cluster's collection status and retention, and its last hour of logs."""
        cluster_id = str(self.router.page.params.get("cluster_id", ""))
        if cluster_id != self.cluster_id:
            self._stop_tail()
            self.tail_lines, self._tail_cursor = [], ""
            self._filters, self._levels = {}, ()
            self.range_preset, self.stream = "1h", "app"
        self.cluster_id = cluster_id
        self.missing = False
        try:
            self._show_collection(actor)
        except NotFound:
            self.cluster_id, self.missing, self.collection = "", True, {}
            self._clear_results()
            self.ready = True
            return
        self._show_retention(actor)
        self._run(actor)
        self.ready = True

    @rx.event
    @authed
    def set_tab(self, actor: Actor, value: str) -> None:
        """Follow the cluster page's tabs: the Logs tab shows when "logs" is chosen."""
        self.on_tab = value == "logs"

    @rx.event
    @authed
    def leave(self, actor: Actor) -> None:
        """Stop the live tail when the Logs tab (or the page) is left."""
        self.on_tab = self.ready = False
        self._stop_tail()

    @rx.event
    @authed
    def set_stream(self, actor: Actor, value: str) -> None:
        """Switch between application and (when granted) control-plane logs."""
        if value not in ("app", "control-plane") or value == self.stream:
            return
        self._stop_tail()
        previous, self.stream = self.stream, value
        try:
            self._run(actor)
        except ServiceError:
            self.stream = previous
            raise

    @rx.event
    @authed
    def enable_collection(self, actor: Actor, form: dict):  # noqa: ANN201
        """Turn log collection on, for every namespace or the listed ones."""
        self.field_errors = {}
        which = enable_from_form(collection.enable, actor, self.cluster_id, form)
        self._show_collection(actor)
        return rx.toast.success(f"Collecting logs of {which}.")

    @rx.event
    @authed
    def disable_collection(self, actor: Actor):  # noqa: ANN201
        """Turn log collection off (stored lines stay until they expire)."""
        collection.disable(actor, self.cluster_id)
        self._show_collection(actor)
        return rx.toast.success("Log collection is off.")

    @rx.event
    @authed
    def save_retention(self, actor: Actor, form: dict):  # noqa: ANN201
        """Set how long the organisation's application logs are kept (owners, 1-90 days)."""
        self.field_errors = {}
        raw = str(form.get("retention_days", "")).strip()
        if not raw.isdigit():
            self.field_errors = {"app_retention_days": "Enter a number of days from 1 to 90."}
            return None
        settings = retention.update_org_settings(actor, app_retention_days=int(raw))
        self.retention_days = str(settings.app_retention_days)
        return rx.toast.success(f"Logs are kept for {self.retention_days} days.")

    @rx.event
    @authed
    def start_tail(self, actor: Actor):  # noqa: ANN201
        """Follow new lines live (with the current filters), about once a second."""
        if not self.cluster_id:
            return None
        tail_logs(actor, self.cluster_id, self._tail_filters(), after=None)
        self._tail_runs += 1
        self.tailing = True
        self.tail_lines, self._tail_cursor = [], ""
        self.live_key = f"{self.cluster_id}:{self._tail_runs}"
        return ClusterLogsState.watch

    @rx.event
    @authed
    def stop_tail(self, actor: Actor) -> None:
        """Stop following new lines."""
        self._stop_tail()

    def _tail_filters(self) -> LogFilters:
        f = self._filters
        return LogFilters(
            stream=self._stream(),
            namespace=f.get("namespace", ""),
            pod=f.get("pod", ""),
            container=f.get("container", ""),
            levels=self._levels,
            text=f.get("text", ""),
            limit=TAIL_BATCH,
        )

    def _fetch(self, token: str, key: str) -> list[LogRecord]:
        actor = auth.session_actor(token)
        cluster_id = key.split(":", 1)[0]
        return tail_logs(actor, cluster_id, self._tail_filters(), after=self._tail_cursor or None)

    def _apply(self, data: list[LogRecord]) -> bool:
        if not self.tailing:
            return False
        if data:
            self._tail_cursor = data[-1].cursor.encode()
            self.tail_lines = (self.tail_lines + [shown_line(r) for r in data])[-TAIL_CAP:]
        return True
