"""Stored match model versions (``match_model``): save a trained one, read one, and the rules
matching uses now (the newest version, else the configured defaults)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from gateway.errors import NotFoundError
from gateway.identity.model import MatchModel, from_parameters
from gateway.identity.rules import IdentityRules
from gateway.store.tables import match_model

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    version: int
    created_at: datetime
    actor: str
    records: int
    figures: dict[str, Any]
    parameters: dict[str, Any]
    term_frequencies: dict[str, dict[str, float]]


def save(
    conn: Connection,
    model: MatchModel,
    *,
    records: int,
    figures: dict[str, Any],
    actor: str,
) -> int:
    """Store a trained model as the newest version; returns its number."""
    return int(
        conn.execute(
            insert(match_model).returning(match_model.c.version),
            {
                "created_at": datetime.now(UTC),
                "actor": actor,
                "records": records,
                "figures": figures,
                "parameters": model.parameters(),
                "term_frequencies": {c: dict(t) for c, t in model.term_frequencies.items()},
            },
        ).scalar_one()
    )


def latest_version(conn: Connection) -> int | None:
    return conn.execute(select(func.max(match_model.c.version))).scalar()


def get(conn: Connection, version: int | None = None) -> ModelVersion:
    """One version (None: the newest).

    :raises NotFoundError: no such version (or none stored).
    """
    wanted = version if version is not None else latest_version(conn)
    row = (
        conn.execute(select(match_model).where(match_model.c.version == wanted)).mappings().first()
        if wanted is not None
        else None
    )
    if row is None:
        raise NotFoundError("match model version", str(version) if version else "latest")
    return ModelVersion(**row)


def versions(conn: Connection) -> list[ModelVersion]:
    rows = conn.execute(select(match_model).order_by(match_model.c.version)).mappings()
    return [ModelVersion(**row) for row in rows]


class ActiveRules:
    """The rules with the model matching should use now: the newest stored version, else the
    configured one. One small query per call; a version is decoded once."""

    def __init__(self, configured: IdentityRules) -> None:
        self.configured = configured
        self._lock = threading.Lock()
        self._cached: tuple[int, IdentityRules] | None = None

    def on(self, conn: Connection) -> IdentityRules:
        version = latest_version(conn)
        if version is None:
            return self.configured
        with self._lock:
            cached = self._cached
        if cached is not None and cached[0] == version:
            return cached[1]
        stored = get(conn, version)
        try:
            model = from_parameters(
                stored.parameters, stored.term_frequencies, self.configured.model, version
            )
        except (KeyError, ValueError) as exc:
            log.warning(
                "match model v%d does not fit the configured comparisons (%s): using the "
                "configured model until the next training",
                version,
                exc,
            )
            rules = self.configured
        else:
            rules = self.configured.with_model(model)
        with self._lock:
            self._cached = (version, rules)
        return rules
