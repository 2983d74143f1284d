"""One JSON error body for every failure, and the one table from the error family to HTTP
statuses: a stable code, a message, and the place when known.

Never an HTML error page, never a traceback, never the database driver's words (those go to the
log): a :class:`~gateway.errors.DatabaseError` answers with what was being done only.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GatewayError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
    SchemaOutOfDateError,
    SchemaValidationError,
    StoreError,
    TooManyRequestsError,
    XMLError,
    XMLLimitError,
)
from gateway.mapping.errors import MappingError
from gateway.mapping_admin import MappingNameMismatchError

log = logging.getLogger(__name__)

# First match wins: subclasses before their bases. Anything else in the family is 400.
_STATUS: list[tuple[type[GatewayError], int]] = [
    (BadRequestError, 400),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PreconditionFailedError, 412),
    (XMLLimitError, 413),
    (SchemaValidationError, 422),
    (MappingError, 422),
    (MappingNameMismatchError, 422),
    (PreconditionRequiredError, 428),
    (TooManyRequestsError, 429),
    (XMLError, 400),
    (SchemaOutOfDateError, 503),
    (StoreError, 503),
]

#: Every status :func:`status_for` can give (the OpenAPI description and docs/api.md list them).
STATUSES = frozenset(status for _, status in _STATUS) | {400}


def status_for(error: GatewayError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_response(error: GatewayError) -> tuple[Response, int]:
    response = jsonify({"error": error.to_dict()})
    status = status_for(error)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cpex-gateway"'
    if isinstance(error, TooManyRequestsError):
        response.headers["Retry-After"] = str(error.retry_after)
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError) -> tuple[Response, int]:
        if isinstance(error, StoreError):
            log.error("%s", error)  # the driver's words, for the operator only
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        body = {"error": {"code": code, "message": error.description}}
        response = jsonify(body)
        for name, value in error.get_headers():  # Allow on 405, Retry-After, ...
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, error.code or 500

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return jsonify({"error": {"code": "internal", "message": "internal error"}}), 500
