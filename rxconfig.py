"""Reflex configuration: everything variable comes from mkportal.settings."""

import reflex as rx

from mkportal.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="mkportal",
    telemetry_enabled=False,
    redis_url=_settings.reflex_redis_url,
    cors_allowed_origins=_settings.cors_origins,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
