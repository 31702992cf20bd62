"""The Reflex app: pages, the REST API (via api_transformer) and the embedded worker."""

import reflex as rx

from mkportal import routes
from mkportal.api.app import create_api
from mkportal.pages.login import LoginState, login_page
from mkportal.worker.embedded import embedded_worker

app = rx.App(
    api_transformer=create_api(),
    stylesheets=["/styles.css"],
)
app.register_lifespan_task(embedded_worker)
app.add_page(login_page, route=routes.LOGIN, title="Sign in · mkportal", on_load=LoginState.on_load)
