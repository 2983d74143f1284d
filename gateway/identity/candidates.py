"""Which golden profiles of a record's blocks are worth scoring, and in what order its
identifiers' owners count. Pure: the chunk (:mod:`gateway.store.chunk`) reads the blocks."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.identity import blocking

# Candidates scored per record. Beyond a few dozen, a block (a big postcode, a common birth
# date) says little; the golden profiles sharing the most keys are the ones worth scoring.
MAX_CANDIDATES = 12
DETERMINISTIC = frozenset({blocking.EMAIL, blocking.PHONE, blocking.REGISTRATION})
_DETERMINISTIC_PREFIXES = tuple(f"{kind}:" for kind in sorted(DETERMINISTIC))


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
