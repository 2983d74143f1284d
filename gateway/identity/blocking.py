"""Match keys: the indexed strings under which a source record can be found again.

Each key is ``kind:value``, stored in the ``match_key`` table beside the record's golden id. One
``WHERE key IN (...)`` on that table's index finds every golden profile that shares any key with
an incoming record: always those with the same e-mail, phone or organisation registration
number, and those in one of its blocks. The blocks are the configured blocking rules
(``config/identity.toml``), each a combination of parts such as ``postcode+initial``; the model
then scores only that small set.

``initial`` is the initial of *every* name word, not just the surname's: a record whose given
and family names were swapped still shares a block with the original.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

from gateway.identity.features import MatchFeatures
from gateway.identity.normalize import email_local_part

EMAIL = "e"
PHONE = "p"
REGISTRATION = "rg"
POSTCODE_INITIAL = "pc"
BIRTH_INITIAL = "bd"
EMAIL_LOCAL = "el"

# Very short local parts ("info", "jo") say nothing about who the person is.
_MIN_LOCAL_PART = 5
KEY_LENGTH = 255

_PARTS: dict[str, Callable[[MatchFeatures], Sequence[str]]] = {
    "postcode": lambda f: f.postcodes,
    "birth_date": lambda f: (f.birth_date.isoformat(),) if f.birth_date is not None else (),
    "given": lambda f: (f.given_name,) if f.given else (),
    "family": lambda f: (f.family_name,) if f.family else (),
    "name": lambda f: tuple(n for n in (f.given_name, f.family_name) if n),
    "initial": lambda f: sorted(f.initials),
    "given_initial": lambda f: (f.given[0][0],) if f.given else (),
    "family_initial": lambda f: (f.family[0][0],) if f.family else (),
    "city": lambda f: f.cities,
}
# Short kinds of the rules the store searches by (postcode search reads ``pc:`` keys).
KINDS = {"postcode+initial": POSTCODE_INITIAL, "birth_date+initial": BIRTH_INITIAL}
DEFAULT_RULES = ("postcode+initial", "birth_date+initial")


def check_rule(rule: str) -> None:
    """:raises ValueError: the rule names a part that does not exist."""
    for part in rule.split("+"):
        if part not in _PARTS:
            raise ValueError(
                f"blocking rule '{rule}': unknown part '{part}' (one of: {', '.join(_PARTS)})"
            )


def match_keys(f: MatchFeatures, rules: Sequence[str] = DEFAULT_RULES) -> list[str]:
    """Every match key of a record, without repeats, deterministic keys first."""
    keys = [f"{EMAIL}:{e}" for e in f.emails]
    keys += [f"{PHONE}:{p}" for p in f.phones]
    keys += [f"{REGISTRATION}:{r}" for r in f.registration]
    for rule in rules:
        kind = KINDS.get(rule, rule)
        values = [_PARTS[part](f) for part in rule.split("+")]
        keys += [":".join((kind, *combination)) for combination in product(*values)]
    keys += [f"{EMAIL_LOCAL}:{local}" for local in _local_parts(f)]
    return [k[:KEY_LENGTH] for k in dict.fromkeys(keys)]


def kind(key: str) -> str:
    """The kind of a match key (``e``, ``p``, ``pc`` ...)."""
    return key.partition(":")[0]


def _local_parts(f: MatchFeatures) -> list[str]:
    parts = (email_local_part(e) for e in f.emails)
    return list(dict.fromkeys(p for p in parts if len(p) >= _MIN_LOCAL_PART))
