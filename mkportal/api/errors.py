"""Error responses: always JSON, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from mkportal.services.errors import Invalid, ServiceError, Unauthenticated

log = logging.getLogger(__name__)


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
    body: dict = {"detail": exc.message}
    headers = {}
    if isinstance(exc, Invalid):
        body["errors"] = [{"loc": k, "msg": v} for k, v in exc.errors.items()]
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": _loc(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse({"detail": "The request is not valid.", "errors": errors}, 422)


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error. It has been logged."}, 500)


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on `app`."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
