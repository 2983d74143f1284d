"""``/api/v1/deliveries``: outbound deliveries for ops (admin keys only): inspect, retry, replay."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify

from gateway.delivery import (
    get_delivery,
    list_deliveries,
    replay_delivery,
    retry_delivery,
)
from gateway.errors import BadRequestError
from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import paging, query

bp = Blueprint("deliveries", __name__, url_prefix="/api/v1/deliveries")


@bp.get("")
@access(Access.ADMIN)
def list_items() -> Response:
    """Outbound deliveries, newest first; ``status``, ``partner`` and ``profile`` narrow the list,
    ``limit`` and ``offset`` page it."""
    limit, offset = paging()
    try:
        items = list_deliveries(
            gateway_of(current_app).engine,
            status=query("status"),
            partner=query("partner"),
            golden_id=query("profile"),
            limit=limit,
            offset=offset,
        )
    except ValueError as exc:
        raise BadRequestError(str(exc), path="status") from exc
    return jsonify(
        {
            "count": len(items),
            "limit": limit,
            "offset": offset,
            "items": [d.to_dict() for d in items],
        }
    )


@bp.get("/<int:delivery_id>")
@access(Access.ADMIN)
def show(delivery_id: int) -> Response:
    """One delivery: partner, kind, status, attempts, last error, fields sent."""
    return jsonify(get_delivery(gateway_of(current_app).engine, delivery_id).to_dict())


@bp.post("/<int:delivery_id>/retry")
@access(Access.ADMIN)
def retry(delivery_id: int) -> Response:
    """Send a dead delivery again, same message id (the partner may have it already)."""
    engine = gateway_of(current_app).engine
    return jsonify(retry_delivery(engine, delivery_id, datetime.now(UTC)).to_dict())


@bp.post("/<int:delivery_id>/replay")
@access(Access.ADMIN)
def replay(delivery_id: int) -> tuple[Response, int]:
    """Send a delivery again as a new message (new message id), e.g. after the partner lost it."""
    engine = gateway_of(current_app).engine
    return jsonify(replay_delivery(engine, delivery_id, datetime.now(UTC)).to_dict()), 201
