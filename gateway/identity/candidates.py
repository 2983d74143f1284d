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
DETERMINISTIC = frozenset({blocking.EMAIL, blocking.PHONE})
_DETERMINISTIC_PREFIXES = tuple(f"{kind}:" for kind in sorted(DETERMINISTIC))


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
    ids = keep(shared, owners)
    if not ids:
        return Found(owners, {})
    documents = conn.execute(
        select(golden_profile.c.id, golden_profile.c.document).where(golden_profile.c.id.in_(ids))
    )
    return Found(
        owners,
        {
            gid: Candidate(gid, features(doc, default_region), kinds(shared.get(gid, ())))
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
    return order_owners(own_key, [((row.system, row.key), row.golden_id) for row in rows])


def order_owners(
    own_key: tuple[str, str], owned: Sequence[tuple[tuple[str, str], str]]
) -> tuple[str, ...]:
    """The owners of (pair, golden id) rows, strongest first: the owner of the record's own
    key, then the others oldest first."""
    own = [golden_id for pair, golden_id in owned if pair == own_key]
    others = sorted({golden_id for _, golden_id in owned} - set(own))
    return (*own, *others)


def keep(shared: dict[str, set[str]], owners: Sequence[str]) -> list[str]:
    """Owners and e-mail/phone matches always; then the most shared keys, up to the cap."""
    must = {*owners, *(gid for gid, keys in shared.items() if deterministic(keys))}
    rest = sorted(
        (gid for gid in shared if gid not in must), key=lambda gid: (-len(shared[gid]), gid)
    )
    return [*must, *rest[: max(0, MAX_CANDIDATES - len(must))]]


def deterministic(keys: set[str]) -> bool:
    """Whether any of the keys is an e-mail or phone key: ``kinds(keys) & DETERMINISTIC``
    without building the set (this runs for every golden profile of every block)."""
    return any(key.startswith(_DETERMINISTIC_PREFIXES) for key in keys)


def kinds(keys: set[str] | tuple[()]) -> frozenset[str]:
    """The kinds of a set of match keys (``e``, ``p`` ...)."""
    return frozenset(blocking.kind(k) for k in keys)
