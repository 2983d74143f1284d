"""``/api/v1/quarantine``: records a pipeline stage refused, ADMIN.

List (without payloads), show (with the raw record), retry through the current mappings,
discard. Acting on an entry that is no longer open is 409.
"""

from __future__ import annotations

from typing import get_args

from flask import Blueprint, Response, current_app, jsonify

from gateway.errors import BadRequestError
from gateway.pipeline.quarantine import Quarantine, QuarantineStatus
from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import actor, paging, query

bp = Blueprint("quarantine", __name__, url_prefix="/api/v1/quarantine")


def _quarantine() -> Quarantine:
    return Quarantine(gateway_of(current_app))


@bp.get("")
@access(Access.ADMIN)
def list_entries() -> Response:
    """Entries with ``status`` (open, retried, discarded, or all), oldest first."""
    limit, offset = paging()
    raw = query("status") or "open"
    if raw != "all" and raw not in get_args(QuarantineStatus):
        raise BadRequestError(
            f"status must be all or one of {', '.join(get_args(QuarantineStatus))}",
            path="status",
        )
    status = None if raw == "all" else raw
    quarantine = _quarantine()
    entries = quarantine.list(status, limit=limit, offset=offset)  # type: ignore[arg-type]
    return jsonify(
        {
            "total": quarantine.count(status),  # type: ignore[arg-type]
            "limit": limit,
            "offset": offset,
            "items": [e.to_dict() for e in entries],
        }
    )


@bp.get("/<int:entry_id>")
@access(Access.ADMIN)
def get_entry(entry_id: int) -> Response:
    """One refused record: raw record, stage, errors."""
    return jsonify(_quarantine().get(entry_id).to_dict())


@bp.post("/<int:entry_id>/retry")
@access(Access.ADMIN)
def retry(entry_id: int) -> Response:
    """Run the record again; the answer is its new result (rejected again: still open)."""
    outcome = _quarantine().retry(entry_id, actor=actor())
    return jsonify({"entry": entry_id, "result": outcome.to_dict()})


@bp.post("/<int:entry_id>/discard")
@access(Access.ADMIN)
def discard(entry_id: int) -> Response:
    """Give up on a refused record (kept as discarded until retention removes it)."""
    _quarantine().discard(entry_id, actor=actor())
    return jsonify({"entry": entry_id, "status": "discarded"})
