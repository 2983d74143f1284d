"""``GET /health``: is the database reachable, and is its schema the one this code needs."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import StoreError
from gateway.store.migrate import current_revision, head_revision
from gateway.web.access import Access, access
from gateway.web.context import gateway_of

bp = Blueprint("health", __name__)


@bp.get("/health")
@access(Access.PUBLIC)
def health() -> tuple[Response, int]:
    """Database reachable and schema up to date (503 otherwise); no credentials needed."""
    gateway = gateway_of(current_app)
    expected = head_revision()
    try:
        revision = current_revision(gateway.engine)
    except (StoreError, SQLAlchemyError):
        body = {"status": "unavailable", "database": {"reachable": False}}
        return jsonify(body), 503
    up_to_date = revision == expected
    body = {
        "status": "ok" if up_to_date else "degraded",
        "database": {
            "reachable": True,
            "backend": gateway.engine.dialect.name,
            "schema_revision": revision,
            "expected_revision": expected,
            "up_to_date": up_to_date,
        },
    }
    return jsonify(body), 200 if up_to_date else 503
