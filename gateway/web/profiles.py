"""``/api/v1/profiles``: read the CRM base's golden profiles (JSON), for admins and integrators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.errors import GatewayError
from gateway.model import to_dict
from gateway.store.profiles import ProfileStore
from gateway.web.access import Access, access
from gateway.web.context import gateway_of

bp = Blueprint("profiles", __name__, url_prefix="/api/v1/profiles")

MAX_PAGE = 500


class BadQueryError(GatewayError):
    code = "bad_query"


def _store() -> ProfileStore:
    return ProfileStore(gateway_of(current_app).engine)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadQueryError(f"query parameter '{name}' must be an integer from {low} to {high}")
    return int(raw)


@bp.get("")
@access(Access.ADMIN)
def list_profiles() -> Response:
    limit = _int_arg("limit", 50, 1, MAX_PAGE)
    offset = _int_arg("offset", 0, 0, 10**9)
    store = _store()
    items: list[dict[str, Any]] = [
        {
            "id": s.id,
            "name": s.display_name,
            "version": s.version,
            "updated": s.updated_at.isoformat(),
            "href": f"/api/v1/profiles/{s.id}",
        }
        for s in store.list_summaries(limit=limit, offset=offset)
    ]
    return jsonify({"total": store.count(), "limit": limit, "offset": offset, "items": items})


@bp.get("/<golden_id>")
@access(Access.ADMIN)
def get_profile(golden_id: str) -> Response:
    profile = _store().get(golden_id)
    return jsonify({"id": golden_id, **to_dict(profile)})
