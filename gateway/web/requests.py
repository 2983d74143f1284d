"""What the REST blueprints of the CRM base share: paging arguments, JSON bodies, the actor,
and error classes whose HTTP status is not one of the app-wide ones.

The app-wide table (:mod:`gateway.web.errors`) maps the error family to statuses; the few errors
that only these endpoints raise (a stale ETag, a missing If-Match, an entry already decided) get
their status from :func:`answer_with` on the blueprint, with the same JSON body.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from gateway.errors import GatewayError
from gateway.web.access import current_principal
from gateway.web.body import read_body
from gateway.web.errors import error_response

MAX_PAGE = 500


class BadRequestError(GatewayError):
    """A request the endpoint cannot read: names the parameter or the body path."""

    code = "bad_request"

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "path": self.path}


def answer_with(bp: Blueprint, error: type[GatewayError], status: int) -> None:
    """Answer ``error`` raised in ``bp``'s views with ``status`` and the usual JSON body."""

    def handle(exc: GatewayError) -> tuple[Response, int]:
        response, _ = error_response(exc)
        return response, status

    bp.register_error_handler(error, handle)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequestError(
            f"query parameter '{name}' must be an integer from {low} to {high}", path=name
        )
    return int(raw)


def paging() -> tuple[int, int]:
    """(limit, offset) from the query string."""
    return int_arg("limit", 50, 1, MAX_PAGE), int_arg("offset", 0, 0, 10**9)


def json_body() -> Any:
    """The request body as JSON (read with the size limit)."""
    body = read_body()
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise BadRequestError(f"the body is not JSON ({exc})", path="body") from exc


def actor() -> str:
    """Who is acting, for audit rows and decisions: the key's name."""
    principal = current_principal()
    return f"api:{principal.name}" if principal else "api"


def wants_xml() -> bool:
    """Whether the client prefers CPEX XML to JSON (``Accept``)."""
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/xml", "text/xml"], default="application/json"
    )
    return best in ("application/xml", "text/xml")


def is_xml_body() -> bool:
    return (request.mimetype or "") in ("application/xml", "text/xml")
