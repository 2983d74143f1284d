"""``GET /health``: is the database reachable, and is its schema the one this code needs."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import StoreError
from gateway.store.migrate import current_revision, head_revision
from gateway.store.tables import erp_source
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
        return jsonify({"status": "unavailable", "database": {"reachable": False}}), 503
    up_to_date = revision == expected
    body: dict[str, object] = {
        "status": "ok" if up_to_date else "degraded",
        "database": {
            "reachable": True,
            "backend": gateway.engine.dialect.name,
            "schema_revision": revision,
            "expected_revision": expected,
            "up_to_date": up_to_date,
        },
    }
    if up_to_date:
        body["erp"] = _erp_freshness(gateway.engine)
    return jsonify(body), 200 if up_to_date else 503


def _erp_freshness(engine: Engine) -> dict[str, object]:
    """Per ERP: when its last successful refresh covering every customer started, and how
    long ago (small on a quiet, healthy ERP; growing while the ERP or the refresh is down)."""
    now = datetime.now(UTC)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(erp_source.c.source_system,
                                       erp_source.c.confirmed_at)).all()
    except SQLAlchemyError:
        return {}
    return {system: {"last_refresh_at": at.isoformat(),
                     "seconds_since_last_refresh": int((now - at).total_seconds())}
            for system, at in rows}
