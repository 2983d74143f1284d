"""``GET /api/v1/profiles/<id>/history``: what happened to a golden profile, from the audit log.

Creations, updates (with the field paths they touched), merges and unmerges, review decisions,
disclosures to partners, erasure: who or what did it and when, oldest first. The ids merged into
the profile count as its own, so a survivor's history starts where each of its parts began. The
log holds field paths and ids, never values, so this shows no personal data beyond the ids.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import Engine, select

from gateway.store.audit import AuditEntry, AuditLog
from gateway.store.profiles import ProfileStore
from gateway.store.tables import golden_alias
from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import paging

bp = Blueprint("history", __name__, url_prefix="/api/v1/profiles")


@bp.get("/<golden_id>/history")
@access(Access.ADMIN)
def history(golden_id: str) -> Response:
    """The audit entries of a golden profile and of the ids merged into it, oldest first."""
    limit, offset = paging()
    current, merged, entries = profile_history(gateway_of(current_app).engine, golden_id,
                                               limit=limit, offset=offset)
    return jsonify({"id": current, "merged_ids": merged, "limit": limit,
                    "offset": offset, "entries": [e.to_dict() for e in entries]})


def profile_history(engine: Engine, golden_id: str, *, limit: int, offset: int = 0,
                    ) -> tuple[str, list[str], list[AuditEntry]]:
    """(current id, ids merged into it, their audit entries oldest first); the console's
    profile page shows the same.

    :raises NotFoundError: an unknown id.
    """
    current = ProfileStore(engine).resolve_id(golden_id)
    with engine.connect() as conn:
        merged = conn.execute(select(golden_alias.c.alias_id)
                              .where(golden_alias.c.golden_id == current)).scalars().all()
    entries = AuditLog(engine).list(golden_ids=[current, *merged], limit=limit, offset=offset)
    return current, sorted(merged), entries
