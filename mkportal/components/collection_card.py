"""The card that turns an in-cluster collection agent (logs, app metrics) on and off."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from mkportal.components.ui import confirm_button, field_error, labelled_input


@dataclass(frozen=True)
class CardText:
    """The words of one collection card."""

    title: str
    icon: str
    on_prefix: str
    off_text: str
    enable_label: str
    disable_label: str
    disable_title: str
    disable_description: str
    input_label: str
    input_id: str
    status_testid: str


def collection_card(
    state: type[rx.State],
    text: CardText,
    *,
    on_enable: rx.EventHandler,
    on_disable: rx.EventHandler,
    **props,  # noqa: ANN003
) -> rx.Component:
    """Render a collection card for `state` (vars `collection`, `can_collect`, field errors).

    Args:
        state: The state holding `collection` (a dict of strings) and `can_collect`.
        text: The card's words.
        on_enable: Submit handler of the namespaces form.
        on_disable: Handler run after the confirmation to turn collection off.
        **props: Passed to the card (e.g. on_mount, data_testid).

    """
    c = state.collection
    enabled = c["enabled"] == "yes"
    return rx.card(
        rx.hstack(
            rx.icon(text.icon, size=16),
            rx.heading(text.title, size="3"),
            rx.badge(
                rx.cond(enabled, "on", "off"),
                color_scheme=rx.cond(enabled, "green", "gray"),
                variant="soft",
                data_testid=text.status_testid,
            ),
            rx.spacer(),
            rx.cond(
                enabled & state.can_collect,
                confirm_button(
                    text.disable_label,
                    title=text.disable_title,
                    description=text.disable_description,
                    on_confirm=on_disable,
                    size="1",
                ),
            ),
            align="center",
            width="100%",
        ),
        rx.cond(
            enabled,
            rx.text(
                text.on_prefix,
                rx.text.strong(c["namespaces"]),
                " (agent: ",
                c["agent"],
                "). Enabled by ",
                c["enabled_by"],
                " on ",
                c["enabled_at"],
                ".",
                size="2",
                color_scheme="gray",
            ),
            rx.text(text.off_text, size="2", color_scheme="gray"),
        ),
        rx.cond(c["message"] != "", rx.text(c["message"], size="2", color_scheme="orange")),
        rx.cond(
            state.can_collect,
            rx.form(
                rx.hstack(
                    rx.box(
                        labelled_input(
                            text.input_label,
                            text.input_id,
                            name="namespaces",
                            default_value=c["namespaces_input"],
                            placeholder="e.g. shop, payments; empty for every namespace",
                            below=field_error(state, "namespaces"),
                        ),
                        flex="1",
                        max_width="32rem",
                    ),
                    rx.button(
                        rx.cond(enabled, "Update namespaces", text.enable_label), type="submit"
                    ),
                    align="end",
                    width="100%",
                ),
                on_submit=on_enable,
                reset_on_submit=False,
                key=c["namespaces_input"],
                margin_top="0.5rem",
            ),
            rx.text(
                "Members and owners of the organisation can turn collection on or off.",
                size="1",
                color_scheme="gray",
            ),
        ),
        width="100%",
        **props,
    )
