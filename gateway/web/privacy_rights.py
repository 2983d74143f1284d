"""A person's rights over REST (admin keys: the operator answers the person's request).

``GET /api/v1/profiles/<id>/export``: everything held about the person (golden profile, source
records, consents, disclosures, deliveries, audit), as one JSON document with the golden profile
also as CPEX XML. ``DELETE /api/v1/profiles/<id>``: erasure; the partners that received the
person's data are sent an erase message through the outbox.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from gateway.delivery.rights import erase_person, export_person
from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import actor

bp = Blueprint("privacy_rights", __name__, url_prefix="/api/v1/profiles")


@bp.get("/<golden_id>/export")
@access(Access.ADMIN)
def export(golden_id: str) -> Response:
    """Everything the CRM base holds about the person (data subject access / portability)."""
    return jsonify(export_person(gateway_of(current_app).engine, golden_id))


@bp.delete("/<golden_id>")
@access(Access.ADMIN)
def erase(golden_id: str) -> Response:
    """Erase the person: personal data removed, erase notices queued to its past recipients."""
    result = erase_person(gateway_of(current_app).engine, golden_id, actor=actor())
    return jsonify({"profile_id": result.golden_id, "erased": True,
                    "already_erased": result.already_erased,
                    "source_records_deleted": result.source_records,
                    "quarantine_records_deleted": result.quarantine_records})
