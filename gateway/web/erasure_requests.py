"""``/api/v1/erasure-requests``: what partners' erasures left for a steward, ADMIN.

A partner's erase removes only its own records of a person; the rest is a request here
(:mod:`gateway.delivery.erasure_requests`). Approving erases the person (with the erase notices
to the partners that received their data); rejecting keeps them. Deciding a request twice is 409.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from gateway.delivery.erasure_requests import ErasureRequests, RequestStatus
from gateway.errors import BadRequestError
from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import actor, paging, query

bp = Blueprint("erasure_requests", __name__, url_prefix="/api/v1/erasure-requests")

_STATUSES = [s.value for s in RequestStatus] + ["all"]


def _queue() -> ErasureRequests:
    return ErasureRequests(gateway_of(current_app).engine)


@bp.get("")
@access(Access.ADMIN)
def list_requests() -> Response:
    """Requests with ``status`` (``open`` by default, or ``approved``, ``rejected``, ``all``),
    oldest first."""
    limit, offset = paging()
    status = query("status") or "open"
    if status not in _STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(_STATUSES)}", path="status")
    found = _queue().list(None if status == "all" else RequestStatus(status), limit, offset)
    return jsonify({"limit": limit, "offset": offset, "items": [r.to_dict() for r in found]})


@bp.get("/<int:request_id>")
@access(Access.ADMIN)
def get_request(request_id: int) -> Response:
    """One erasure request."""
    return jsonify(_queue().get(request_id).to_dict())


@bp.post("/<int:request_id>/approve")
@access(Access.ADMIN)
def approve(request_id: int) -> Response:
    """Erase the person the request names."""
    return jsonify(_queue().approve(request_id, actor=actor()).to_dict())


@bp.post("/<int:request_id>/reject")
@access(Access.ADMIN)
def reject(request_id: int) -> Response:
    """Keep the person; close the request."""
    return jsonify(_queue().reject(request_id, actor=actor()).to_dict())
