"""Golden ids, document hashes, display names and the change record: pure helpers shared by
the store and the identity code.

Apart from :mod:`gateway.identity.golden` because that module writes to the store, and the
store's package imports :mod:`gateway.store.profiles`, which needs these names at import time.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ChangeKind = Literal["created", "updated", "merged", "unmerged"]


@dataclass(frozen=True, slots=True)
class GoldenChange:
    """One change to one golden profile, as the outbox will publish it.

    ``fields`` are the top-level document fields that changed; ``absorbed_id`` is the id merged
    into this profile (kind "merged"), which is now an alias of it.
    """

    golden_id: str
    kind: ChangeKind
    version: int
    fields: tuple[str, ...]
    absorbed_id: str | None = None


def new_golden_id() -> str:
    """``gp_`` + 12 hex digits of milliseconds since the epoch + 80 random bits.

    Time first, so ids sort in creation order and B-tree inserts stay at the right edge (as
    with ULIDs); the random part makes collisions between processes negligible. Merges rely on
    the order too: the smaller id is the older profile, and survives.
    """
    return f"gp_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


# ``json.dumps`` with options builds an encoder per call: one, made once, is a third faster.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the document's canonical JSON (sorted keys, no spaces)."""
    text = _CANONICAL.encode(document)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def display_name(document: Mapping[str, Any]) -> str | None:
    """What listings show: the person's given and family name, or the organisation's name."""
    person, organization = document.get("person"), document.get("organization")
    if person is not None:
        parts = (person.get("given_name"), person.get("family_name"))
        return (" ".join(p for p in parts if p) or "(no name)")[:200]
    if organization is not None:
        return str(organization.get("name", "(no name)"))[:200]
    return None
