"""State of /alarms: the list with states, the create/edit form with a preview, history."""

from __future__ import annotations

import reflex as rx

from mkportal.services import auth
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound, ServiceError
from mkportal.services.metrics import alarms
from mkportal.services.pagination import Page
from mkportal.state.format import rows
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

REFRESH_SECONDS = 5.0
ALL_CLUSTERS = "all"
EMPTY_FORM = {
    "name": "", "cluster_id": ALL_CLUSTERS, "query": "", "comparator": ">", "threshold": "0",
    "for_seconds": "60", "severity": "warning", "email": "", "webhook": "", "in_app": "on",
    "emails": "", "webhook_url": "", "enabled": "on",
}  # fmt: skip


def _text(form: dict, key: str, limit: int = 4000) -> str:
    return str(form.get(key, "") or "").strip()[:limit]


def _checked(form: dict, key: str) -> bool:
    return _text(form, key, 10) in ("on", "true", "True")


def alarm_values(form: dict) -> dict:
    """Turn the alarm form's fields into the service's input (kept as text where numeric)."""
    cluster = _text(form, "cluster_id", 32)
    return {
        "name": _text(form, "name", 200),
        "cluster_id": "" if cluster == ALL_CLUSTERS else cluster,
        "query": _text(form, "query"),
        "comparator": _text(form, "comparator", 2) or ">",
        "threshold": _text(form, "threshold", 40) or "0",
        "for_seconds": _text(form, "for_seconds", 10) or "0",
        "severity": _text(form, "severity", 16) or "warning",
        "channels": [c for c in ("email", "webhook", "in_app") if _checked(form, c)],
        "emails": [e.strip() for e in _text(form, "emails").replace("\n", ",").split(",")],
        "webhook_url": _text(form, "webhook_url", 600),
        "enabled": _checked(form, "enabled"),
    }


class AlarmsState(PagedMixin, LiveMixin, SessionState):
    """The organisation's alarms (refreshed while the page is open) and the alarm form."""

    items: list[dict] = []
    can_write: bool = False
    clusters: list[dict[str, str]] = []
    form_open: bool = False
    editing: str = ""
    form: dict[str, str] = dict(EMPTY_FORM)
    form_key: int = 0
    field_errors: dict[str, str] = {}
    preview_cluster: str = ALL_CLUSTERS
    preview_query: str = ""
    preview_text: str = ""
    history_of: str = ""
    history_name: str = ""
    history: list[dict] = []
    history_page: int = 1
    history_pages: int = 1

    def _fetch(self, token: str, key: str) -> Page:
        return alarms.list_alarms(auth.session_actor(token), int(key.split(":")[-1]))

    def _apply(self, data: Page) -> bool:
        items = rows(self._paged(data))
        names = {c["value"]: c["label"] for c in self.clusters}
        for item in items:
            item["cluster"] = (
                names.get(item["cluster_id"], "all clusters")
                if item["cluster_id"]
                else "all clusters"
            )
            item["last_value"] = (
                "" if item["last_value"] == "" else f"{float(item['last_value']):g}"
            )
        self.items = items
        return False

    def _idle_seconds(self) -> float:
        return REFRESH_SECONDS

    def _load_history(self, actor: Actor) -> None:
        page = alarms.history(actor, self.history_of, self.history_page, 10)
        self.history = rows(page.items)
        self.history_page, self.history_pages = page.page, page.pages

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read the alarms and the clusters they can watch; keep the states fresh."""
        self.can_write = actor.is_operator or actor.role in ("owner", "member")
        self.clusters = [{"value": i, "label": n} for i, n in alarms.cluster_choices(actor)]
        self._apply(alarms.list_alarms(actor, self.page))
        wanted = str(self.router.page.params.get("alarm", "") or "")
        if wanted and wanted != self.history_of:
            try:
                self.history_name = alarms.get(actor, wanted).name
                self.history_of, self.history_page = wanted, 1
                self._load_history(actor)
            except NotFound:
                self.history_of = ""
        self.live_key = f"alarms:{actor.org_id}:{self.page}"
        return AlarmsState.watch

    def _open(self, values: dict[str, str], editing: str) -> None:
        self.form, self.editing, self.form_open = values, editing, True
        self.form_key += 1
        self.field_errors, self.preview_text = {}, ""
        self.preview_query, self.preview_cluster = values["query"], values["cluster_id"]

    @rx.event
    @authed
    def new_alarm(self, actor: Actor) -> None:
        """Open an empty form for a new alarm."""
        self._open(dict(EMPTY_FORM), "")

    @rx.event
    @authed
    def edit_alarm(self, actor: Actor, alarm_id: str) -> None:
        """Open the form filled with an alarm's values."""
        a = alarms.get(actor, alarm_id)
        on = {c: "on" if c in a.channels else "" for c in ("email", "webhook", "in_app")}
        self._open(
            {
                "name": a.name,
                "cluster_id": a.cluster_id or ALL_CLUSTERS,
                "query": a.query,
                "comparator": a.comparator,
                "threshold": f"{a.threshold:g}",
                "for_seconds": str(a.for_seconds),
                "severity": a.severity,
                **on,
                "emails": ", ".join(a.emails),
                "webhook_url": a.webhook_url,
                "enabled": "on" if a.enabled else "",
            },  # fmt: skip
            alarm_id,
        )

    @rx.event
    @authed
    def close_form(self, actor: Actor) -> None:
        """Close the form without saving."""
        self.form_open, self.editing, self.field_errors = False, "", {}

    @rx.event
    @authed
    def save(self, actor: Actor, form: dict):  # noqa: ANN201
        """Create the alarm, or save the one being edited."""
        values = alarm_values(form if isinstance(form, dict) else {})
        self.field_errors = {}
        if self.editing:
            saved = alarms.update(actor, self.editing, values)
        else:
            saved = alarms.create(actor, values)
        self.form_open, self.editing = False, ""
        self._apply(alarms.list_alarms(actor, self.page))
        return rx.toast.success(f"Alarm {saved.name} saved; it is evaluated every few seconds.")

    @rx.event
    def set_preview_cluster(self, value: str):  # noqa: ANN201
        """Remember the form's cluster for the preview and refresh it."""
        self.preview_cluster = value
        return AlarmsState.run_preview

    @rx.event
    def set_preview_query(self, value: str):  # noqa: ANN201
        """Remember the form's query (on leaving the field) and refresh the preview."""
        self.preview_query = value
        return AlarmsState.run_preview

    @rx.event
    @authed
    def run_preview(self, actor: Actor) -> None:
        """Run the form's query now and show what it returns (not saved)."""
        cluster = "" if self.preview_cluster == ALL_CLUSTERS else self.preview_cluster
        if not self.preview_query.strip():
            self.preview_text = ""
            return
        try:
            samples = alarms.preview(actor, self.preview_query, cluster)
        except Invalid as exc:
            self.preview_text = "Invalid query: " + "; ".join(exc.errors.values())
            return
        except ServiceError as exc:
            self.preview_text = exc.message
            return
        if not samples:
            self.preview_text = "No data right now (an empty result never fires)."
            return
        shown = ", ".join(f"{x.value:g}" for x in samples[:5])
        more = f" (+{len(samples) - 5} more series)" if len(samples) > 5 else ""
        self.preview_text = f"Current value: {shown}{more}"

    @rx.event
    @authed
    def toggle(self, actor: Actor, alarm_id: str, enabled: bool) -> None:
        """Enable or disable an alarm."""
        alarms.set_enabled(actor, alarm_id, enabled)
        self._apply(alarms.list_alarms(actor, self.page))

    @rx.event
    @authed
    def delete_alarm(self, actor: Actor, alarm_id: str):  # noqa: ANN201
        """Delete an alarm and its history."""
        alarms.remove(actor, alarm_id)
        if self.history_of == alarm_id:
            self.history_of, self.history = "", []
        self._apply(alarms.list_alarms(actor, self.page))
        return rx.toast.success("Alarm deleted.")

    @rx.event
    @authed
    def show_history(self, actor: Actor, alarm_id: str) -> None:
        """Show an alarm's history below the list."""
        self.history_name = alarms.get(actor, alarm_id).name
        self.history_of, self.history_page = alarm_id, 1
        self._load_history(actor)

    @rx.event
    @authed
    def history_step(self, actor: Actor, delta: int) -> None:
        """Show the next (1) or previous (-1) page of the history."""
        if not self.history_of:
            return
        self.history_page = min(max(self.history_page + delta, 1), self.history_pages)
        self._load_history(actor)

    @rx.event
    @authed
    def close_history(self, actor: Actor) -> None:
        """Hide the history."""
        self.history_of, self.history = "", []
