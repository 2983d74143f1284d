"""``GET /api/v1/profiles/<id>/disclosures``: who received a person's data, what and when (admin).

Read from the audit log, so it still answers after the person was erased. A partner never reads
this (it would show which other partners know the person).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from gateway.privacy import disclosures_of
from gateway.store.profiles import ProfileStore
from gateway.web.access import Access, access
from gateway.web.context import gateway_of

bp = Blueprint("disclosures", __name__, url_prefix="/api/v1/profiles")


@bp.get("/<golden_id>/disclosures")
@access(Access.ADMIN)
def list_disclosures(golden_id: str) -> Response:
    """Who received this person's data, what and when, from the disclosure audit."""
    engine = gateway_of(current_app).engine
    records = disclosures_of(engine, golden_id)
    if not records:
        ProfileStore(engine).get(golden_id)  # NotFoundError (404) for an unknown id
    return jsonify(
        {
            "profile_id": golden_id,
            "count": len(records),
            "disclosures": [r.to_dict() for r in records],
        }
    )
