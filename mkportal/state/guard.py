"""The guard every event handler of a signed-in page goes through.

`authed` looks the session up on the server for each event, hands the handler the
`Actor`, and turns service errors into a toast. The services then enforce organisation
and role, so a handler cannot be used to reach another organisation's data whatever
arguments the browser sends.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import reflex as rx

from mkportal import routes
from mkportal.services.errors import Invalid, ServiceError


def authed(fn: Callable) -> Callable:
    """Decorate an event handler ``fn(self, actor, ...)`` as ``handler(self, ...)``.

    Signed-out clients are sent to /login and the handler does not run. A ServiceError
    raised by the handler becomes an error toast (field errors are stored in
    ``self.field_errors`` when the state has it).
    """
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        actor = self.actor()
        if actor is None:
            self.email = ""
            return rx.redirect(routes.LOGIN)
        try:
            return fn(self, actor, *args, **kwargs)
        except ServiceError as exc:
            if isinstance(exc, Invalid) and hasattr(self, "field_errors"):
                self.field_errors = dict(exc.errors)
            return rx.toast.error(exc.message, close_button=True)

    wrapper.__signature__ = sig.replace(
        parameters=[p for name, p in sig.parameters.items() if name != "actor"]
    )
    wrapper.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != "actor"}
    del wrapper.__wrapped__
    return wrapper
