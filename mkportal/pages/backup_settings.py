"""/settings/backups: where the organisation's cluster backups are stored (owners change it)."""

from __future__ import annotations

import reflex as rx

from mkportal import routes
from mkportal.components.cluster_form import labelled_select
from mkportal.components.layout import shell
from mkportal.components.ui import field_error, labelled_input
from mkportal.state.backup_settings import KINDS
from mkportal.state.backup_settings import BackupSettingsState as S


def _input(label: str, name: str, **props) -> rx.Component:
    return labelled_input(label, f"storage-{name}", name=name, below=field_error(S, name), **props)


def _current() -> rx.Component:
    c = S.current
    return rx.card(
        rx.heading("Current storage", size="4"),
        rx.data_list.root(
            rx.data_list.item(
                rx.data_list.label("Kind"),
                rx.data_list.value(rx.badge(c["kind"]), data_testid="storage-kind"),
            ),
            rx.data_list.item(
                rx.data_list.label("Location"),
                rx.data_list.value(rx.code(c["location"]), data_testid="storage-location"),
            ),
            rx.data_list.item(
                rx.data_list.label("Credentials"),
                rx.data_list.value(
                    rx.cond(
                        c["has_credentials"] == "yes",
                        rx.text("access key ", c["access_key_id"], ", stored encrypted"),
                        "none",
                    )
                ),
            ),
            rx.data_list.item(
                rx.data_list.label("Changed by"), rx.data_list.value(c["updated_by"])
            ),
            rx.data_list.item(rx.data_list.label("Changed"), rx.data_list.value(c["updated_at"])),
        ),
        width="100%",
    )


def _form() -> rx.Component:
    c = S.current
    s3 = rx.vstack(
        rx.grid(
            _input("Bucket", "bucket", default_value=c["bucket"]),
            _input("Prefix (optional)", "prefix", default_value=c["prefix"]),
            _input(
                "Endpoint URL (empty: AWS)",
                "endpoint_url",
                default_value=c["endpoint_url"],
                placeholder="https://s3.example.com",
            ),
            _input("Region (optional)", "region", default_value=c["region"]),
            _input("Access key id", "access_key_id", auto_complete="off"),
            _input("Secret access key", "secret_access_key", type="password", auto_complete="off"),
            columns="2",
            spacing="3",
            width="100%",
        ),
        rx.text(
            "The keys are stored encrypted and never shown again; leave them empty to keep "
            "the stored ones. The portal writes and reads a probe object before saving.",
            size="1",
            color_scheme="gray",
        ),
        width="100%",
    )
    return rx.card(
        rx.heading("Change storage", size="4"),
        rx.form(
            rx.vstack(
                rx.box(
                    labelled_select("Storage", "storage-kind-select", KINDS, S.kind, S.set_kind),
                    max_width="24rem",
                ),
                rx.cond(S.kind == "s3", s3),
                field_error(S, "storage"),
                rx.button("Save storage", type="submit"),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save,
            reset_on_submit=False,
            key=c.to_string(),
        ),
        width="100%",
    )


def backup_settings_page() -> rx.Component:
    """Render the organisation's backup storage settings."""
    return shell(
        "Backup storage",
        rx.text(
            "Backups of every cluster of the organisation go here. Each cluster's schedules, "
            "retention and restores are on its ",
            rx.link("Backups tab", href=routes.CLUSTERS),
            ".",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            S.loaded,
            rx.vstack(
                _current(),
                rx.cond(
                    S.can_manage,
                    _form(),
                    rx.callout(
                        "Only owners of the organisation can change where backups are stored.",
                        icon="info",
                        width="100%",
                    ),
                ),
                width="100%",
                spacing="4",
            ),
            rx.spinner(),
        ),
    )
