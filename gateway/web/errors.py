"""One JSON error body for every failure: a stable code, a message, and the place when known.

Never an HTML error page, never a traceback (those go to the log).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from gateway.errors import (
    AuthenticationError,
    GatewayError,
    NotFoundError,
    PermissionDeniedError,
    SchemaOutOfDateError,
    SchemaValidationError,
    StoreError,
    XMLError,
    XMLLimitError,
)
from gateway.mapping.errors import MappingError
from gateway.mapping_admin import MappingNameMismatchError

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[GatewayError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (XMLLimitError, 413),
    (SchemaValidationError, 422),
    (MappingError, 422),
    (MappingNameMismatchError, 422),
    (XMLError, 400),
    (SchemaOutOfDateError, 503),
    (StoreError, 503),
]


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
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError) -> tuple[Response, int]:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        body = {"error": {"code": code, "message": error.description}}
        return jsonify(body), error.code or 500

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return jsonify({"error": {"code": "internal", "message": "internal error"}}), 500
