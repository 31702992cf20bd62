"""State of the app metrics collection card on a cluster's Metrics tab."""

from __future__ import annotations

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.metrics import collection
from mkportal.state.collection import collection_view, enable_from_form
from mkportal.state.guard import authed
from mkportal.state.session import SessionState


class MetricsCollectionState(SessionState):
    """Whether a cluster's application metrics are collected, and the form to change it."""

    cluster_id: str = ""
    collection: dict[str, str] = {}
    can_collect: bool = False
    field_errors: dict[str, str] = {}

    def _show(self, actor: Actor) -> None:
        self.collection = collection_view(collection.status(actor, self.cluster_id))
        self.can_collect = actor.is_operator or actor.role in ("owner", "member")

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the collection status of the cluster in the page's URL."""
        self.cluster_id = str(self.router.page.params.get("cluster_id", ""))
        self.field_errors = {}
        try:
            self._show(actor)
        except NotFound:
            self.cluster_id, self.collection, self.can_collect = "", {}, False

    @rx.event
    @authed
    def enable(self, actor: Actor, form: dict):  # noqa: ANN201
        """Turn collection on, for every namespace or the listed ones."""
        self.field_errors = {}
        which = enable_from_form(collection.enable, actor, self.cluster_id, form)
        self._show(actor)
        return rx.toast.success(f"Collecting app metrics of {which}.")

    @rx.event
    @authed
    def disable(self, actor: Actor):  # noqa: ANN201
        """Turn collection off (series already stored stay queryable)."""
        collection.disable(actor, self.cluster_id)
        self._show(actor)
        return rx.toast.success("App metrics collection is off.")
