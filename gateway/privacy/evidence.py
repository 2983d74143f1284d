"""Reading the evidence of the trust rules: the source records of golden profiles, by source.

The disclosure rule (:mod:`gateway.privacy.disclosure`) is pure; the query answers, the routing
of outbound deliveries and the sender all hand it the :class:`~gateway.privacy.trust.Evidence`
read here, inside their own transaction, so every channel decides on the same facts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from gateway.privacy.trust import Evidence, SourceDocument, evidence_of
from gateway.store.tables import source_record


def load_evidence(
    conn: Connection, golden_ids: Iterable[str], consent_sources: frozenset[str]
) -> dict[str, Evidence]:
    """Per golden id, what its source records say (an id without records gets empty evidence:
    no trusted consent, no contribution)."""
    ids = sorted(set(golden_ids))
    found: dict[str, list[SourceDocument]] = {golden_id: [] for golden_id in ids}
    if ids:
        s = source_record.c
        rows = conn.execute(
            select(s.golden_id, s.source_system, s.received_at, s.document).where(
                s.golden_id.in_(ids)
            )
        )
        for row in rows:
            found[row.golden_id].append(
                SourceDocument(row.source_system, row.received_at, row.document or {})
            )
    return {golden_id: evidence_of(docs, consent_sources) for golden_id, docs in found.items()}
