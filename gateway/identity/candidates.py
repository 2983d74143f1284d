"""The block query: golden profiles that share an identifier or a match key with a record.

Three indexed statements per record, whatever the size of the base: identifier owners (primary
key), match keys (``ix_match_key_key_golden_id``, covering), then the documents of the few
candidates kept (primary key). No statement runs per candidate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from gateway.identity import blocking
from gateway.identity.decision import Candidate
from gateway.identity.features import features
from gateway.identity.golden import identifier_in
from gateway.store.tables import golden_profile, identifier, match_key

# Candidates scored per record. Beyond a few dozen, a block (a big postcode, a common birth
# date) says little; the golden profiles sharing the most keys are the ones worth scoring.
MAX_CANDIDATES = 24
_DETERMINISTIC = frozenset({blocking.EMAIL, blocking.PHONE})


@dataclass(frozen=True, slots=True)
class Found:
    owners: tuple[str, ...]  # golden profiles owning identifiers of the record, strongest first
    candidates: dict[str, Candidate]


def find(
    conn: Connection,
    *,
    own_key: tuple[str, str],
    identifiers: Sequence[tuple[str, str]],
    keys: Sequence[str],
    default_region: str,
) -> Found:
    """Identifier owners and match-key candidates of a record not yet stored."""
    owners = _owners(conn, own_key, identifiers)
    shared: dict[str, set[str]] = defaultdict(set)
    if keys:
        rows = conn.execute(
            select(match_key.c.key, match_key.c.golden_id).where(match_key.c.key.in_(keys))
        )
        for key, golden_id in rows:
            shared[golden_id].add(key)
    ids = _keep(shared, owners)
    if not ids:
        return Found(owners, {})
    documents = conn.execute(
        select(golden_profile.c.id, golden_profile.c.document).where(golden_profile.c.id.in_(ids))
    )
    return Found(
        owners,
        {
            gid: Candidate(gid, features(doc, default_region), _kinds(shared.get(gid, ())))
            for gid, doc in documents
        },
    )


def _owners(
    conn: Connection, own_key: tuple[str, str], identifiers: Sequence[tuple[str, str]]
) -> tuple[str, ...]:
    pairs = list(dict.fromkeys(identifiers))
    if not pairs:
        return ()
    rows = conn.execute(
        select(identifier.c.system, identifier.c.key, identifier.c.golden_id).where(
            identifier_in(pairs)
        )
    ).all()
    own = [row.golden_id for row in rows if (row.system, row.key) == own_key]
    others = sorted({row.golden_id for row in rows} - set(own))
    return (*own, *others)


def _keep(shared: dict[str, set[str]], owners: Sequence[str]) -> list[str]:
    """Owners and e-mail/phone matches always; then the most shared keys, up to the cap."""
    must = {*owners, *(gid for gid, keys in shared.items() if _kinds(keys) & _DETERMINISTIC)}
    rest = sorted(
        (gid for gid in shared if gid not in must), key=lambda gid: (-len(shared[gid]), gid)
    )
    return [*must, *rest[: max(0, MAX_CANDIDATES - len(must))]]


def _kinds(keys: set[str] | tuple[()]) -> frozenset[str]:
    return frozenset(blocking.kind(k) for k in keys)
