"""The "App metrics collection" card of a cluster's Metrics tab."""

from __future__ import annotations

import reflex as rx

from mkportal.components.collection_card import CardText
from mkportal.components.collection_card import collection_card as agent_card
from mkportal.state.metrics_collection import MetricsCollectionState as M

TEXT = CardText(
    title="App metrics collection",
    icon="activity",
    on_prefix="Scraping annotated pods of ",
    off_text="Collection is off. Enable it to install a Prometheus agent that scrapes pods "
    'annotated prometheus.io/scrape: "true" (prometheus.io/port and prometheus.io/path '
    "choose where) and sends the series here, for dashboards and alarms.",
    enable_label="Enable app metrics",
    disable_label="Disable app metrics",
    disable_title="Turn app metrics collection off?",
    disable_description="The Prometheus agent is removed from the cluster and no new samples "
    "arrive. Series already stored stay queryable.",
    input_label="Namespaces to scrape (optional)",
    input_id="metrics-namespaces",
    status_testid="metrics-collection-status",
)


def collection_card() -> rx.Component:
    """Render the app metrics collection card (it loads itself for the page's cluster)."""
    return agent_card(
        M,
        TEXT,
        on_enable=M.enable,
        on_disable=M.disable,
        on_mount=M.load,
        data_testid="metrics-collection-card",
    )
