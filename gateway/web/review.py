"""``/api/v1/review``: the identity review queue (pairs that may be one customer), ADMIN.

Items show both golden profiles and the score details; approving merges the pair (the older id
survives), rejecting keeps them apart for good. Deciding an item twice is 409.
"""

from __future__ import annotations

from typing import Any, get_args

from flask import Blueprint, Response, current_app, jsonify

from gateway.errors import BadRequestError
from gateway.identity.review import ReviewItem, ReviewQueue, ReviewStatus
from gateway.model import to_dict
from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import actor, paging, query

bp = Blueprint("review", __name__, url_prefix="/api/v1/review")


def _queue() -> ReviewQueue:
    return gateway_of(current_app).profiles.reviews


@bp.get("")
@access(Access.ADMIN)
def list_items() -> Response:
    """Items with ``status`` (default open), oldest first."""
    limit, offset = paging()
    status = query("status") or "open"
    if status not in get_args(ReviewStatus):
        raise BadRequestError(
            f"status must be one of {', '.join(get_args(ReviewStatus))}", path="status"
        )
    items = _queue().list(status, limit=limit, offset=offset)  # type: ignore[arg-type]
    return jsonify({"limit": limit, "offset": offset, "items": [_item(i) for i in items]})


@bp.get("/<int:item_id>")
@access(Access.ADMIN)
def get_item(item_id: int) -> Response:
    """One review item: both candidates and the score details."""
    return jsonify(_item(_queue().get(item_id)))


@bp.post("/<int:item_id>/approve")
@access(Access.ADMIN)
def approve(item_id: int) -> Response:
    """Merge the pair; answers with the surviving golden id."""
    survivor = _queue().approve(item_id, actor())
    return jsonify({"id": item_id, "status": "approved", "golden_id": survivor})


@bp.post("/<int:item_id>/reject")
@access(Access.ADMIN)
def reject(item_id: int) -> Response:
    """Keep the pair apart; it is never proposed again."""
    _queue().reject(item_id, actor())
    return jsonify({"id": item_id, "status": "rejected"})


def _item(item: ReviewItem) -> dict[str, Any]:
    def profile(p: Any) -> dict[str, Any] | None:
        return to_dict(p) if p is not None else None

    return {
        "id": item.id,
        "status": item.status,
        "golden_id": item.golden_id,
        "candidate_id": item.candidate_id,
        "score": item.score,
        "details": dict(item.details),
        "source_record_id": item.source_record_id,
        "created_at": item.created_at.isoformat(),
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "decided_by": item.decided_by,
        "golden": profile(item.golden),
        "candidate": profile(item.candidate),
    }
