"""Match keys: the indexed strings under which a source record can be found again.

Each key is ``kind:value``, stored in the ``match_key`` table beside the record's golden id. One
``WHERE key IN (...)`` on that table's index finds every golden profile that shares any key with
an incoming record: deterministic candidates (same e-mail, same phone) and fuzzy ones (a block:
same postcode or birth date *and* a name initial). Scoring then runs only within that small set.

Blocks pair a place or date with the *initial of every name word*, not just the surname's: a
record whose given and family names were swapped still shares a block with the original.
"""

from __future__ import annotations

from gateway.identity.features import MatchFeatures
from gateway.identity.normalize import email_local_part

EMAIL = "e"
PHONE = "p"
POSTCODE_INITIAL = "pc"
BIRTH_INITIAL = "bd"
EMAIL_LOCAL = "el"

# Very short local parts ("info", "jo") say nothing about who the person is.
_MIN_LOCAL_PART = 5
KEY_LENGTH = 255


def match_keys(f: MatchFeatures) -> list[str]:
    """Every match key of a record, without repeats, deterministic keys first."""
    keys = [f"{EMAIL}:{e}" for e in f.emails]
    keys += [f"{PHONE}:{p}" for p in f.phones]
    initials = sorted(f.initials)
    keys += [f"{POSTCODE_INITIAL}:{pc}:{i}" for pc in f.postcodes for i in initials]
    if f.birth_date is not None:
        keys += [f"{BIRTH_INITIAL}:{f.birth_date.isoformat()}:{i}" for i in initials]
    keys += [f"{EMAIL_LOCAL}:{local}" for local in _local_parts(f)]
    return [k[:KEY_LENGTH] for k in dict.fromkeys(keys)]


def kind(key: str) -> str:
    """The kind of a match key (``e``, ``p``, ``pc`` ...)."""
    return key.partition(":")[0]


def _local_parts(f: MatchFeatures) -> list[str]:
    parts = (email_local_part(e) for e in f.emails)
    return list(dict.fromkeys(p for p in parts if len(p) >= _MIN_LOCAL_PART))
