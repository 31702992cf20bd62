"""What the collection cards' states share: the status shown and the enable form."""

from __future__ import annotations

from collections.abc import Callable

from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid
from mkportal.services.kube.agents import CollectionStatus
from mkportal.state.format import when


def collection_view(st: CollectionStatus) -> dict[str, str]:
    """Return a collection's status as the card's strings."""
    return {
        "enabled": "yes" if st.enabled else "",
        "status": st.status,
        "agent": st.agent,
        "message": st.message,
        "namespaces": ", ".join(st.namespaces) if st.namespaces else "all namespaces",
        "namespaces_input": ", ".join(st.namespaces),
        "enabled_by": st.enabled_by,
        "enabled_at": when(st.enabled_at),
    }


def enable_from_form(
    enable: Callable[[Actor, str, list[str]], CollectionStatus],
    actor: Actor,
    cluster_id: str,
    form: dict,
) -> str:
    """Turn collection on with the form's namespaces; return what is collected, for a toast.

    Raises:
        Invalid: A namespace is malformed (one message under the "namespaces" field).
    """
    raw = str(form.get("namespaces", ""))
    namespaces = [n.strip() for n in raw.replace("\n", ",").split(",") if n.strip()]
    try:
        enable(actor, cluster_id, namespaces)
    except Invalid as exc:
        raise Invalid({"namespaces": " ".join(exc.errors.values())}) from exc
    return ", ".join(namespaces) if namespaces else "every namespace"
