"""Refused records into the quarantine table, inside the chunk's transaction.

A record refused again (a re-sent batch, a retry that fails once more) does not make a second
open entry: an open entry with the same source system and raw-record hash is reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from gateway.pipeline.stages import Decoded, Refusal
from gateway.pipeline.tables import quarantine_record


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a batch came from: what every quarantine entry of it records."""

    source_system: str
    source: str  # file name or "message <id>"
    message_id: str | None
    mapping: str | None


def raw_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def quarantine(
    conn: Connection,
    refused: Sequence[tuple[Decoded, Refusal]],
    origin: Origin,
    now: datetime,
) -> list[int]:
    """Store refused records (open entries); returns each one's entry id, in order."""
    if not refused:
        return []
    hashes = [raw_hash(decoded.raw) for decoded, _ in refused]
    q = quarantine_record.c
    existing = dict(
        conn.execute(
            select(q.raw_hash, q.id).where(
                q.status == "open",
                q.source_system == origin.source_system,
                q.raw_hash.in_(sorted(set(hashes))),
            )
        ).all()
    )
    ids: list[int] = []
    for (decoded, refusal), digest in zip(refused, hashes, strict=True):
        found = existing.get(digest)
        if found is None:
            found = existing[digest] = _insert(conn, decoded, refusal, origin, digest, now)
        ids.append(int(found))
    return ids


def _insert(
    conn: Connection, decoded: Decoded, refusal: Refusal, origin: Origin, digest: str, now: datetime
) -> int:
    row = {
        "status": "open",
        "source_system": origin.source_system,
        "source": origin.source[:255],
        "message_id": origin.message_id,
        "record_index": decoded.index,
        "line": decoded.line,
        "format": decoded.format,
        # the mapping a retry runs it through again (JSON records are canonical: none)
        "mapping": origin.mapping if decoded.format in ("xml", "row") else None,
        "stage": refusal.stage,
        "code": refusal.code,
        "errors": [issue.to_dict() for issue in refusal.errors],
        "raw": decoded.raw,
        "raw_hash": digest,
        "created_at": now,
    }
    return int(
        conn.execute(insert(quarantine_record).returning(quarantine_record.c.id), row).scalar_one()
    )
