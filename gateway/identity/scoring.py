"""How alike two profiles are: one score per component, and a weighted total.

Components (each from 0 to 1, or absent when either side lacks the value, so that missing data
neither helps nor hurts):

- ``name``: given and family names compared part by part (rapidfuzz ``ratio``), straight and
  swapped, the better arrangement kept; without both parts on both sides, ``token_sort_ratio``
  of the whole name (which also forgives swapped words). Part by part matters: "Anna Smith" and
  "Emma Smith" are 80 by ``token_sort_ratio`` but are twins, not typos.
- ``birth_date``: 1 if equal, 0.7 if the digits were transposed or day and month swapped, else 0.
- ``address``: best ``token_sort_ratio`` between any two addresses.
- ``email``: 1 for a shared address, 0.9 times the likeness of local parts when only the domain
  differs (a near duplicate "with another e-mail domain"); absent otherwise, since people hold
  several addresses and a different one is no evidence of a different person.
- ``phone``: 1 for a shared number, else absent (same reason).

A merge also needs corroboration: a similar name *and* one other agreeing component. Two "John
Smith"s with nothing else in common are a question for a person, never an automatic merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from rapidfuzz import fuzz, process

from gateway.identity import blocking
from gateway.identity.features import MatchFeatures
from gateway.identity.normalize import email_local_part

WEIGHTS = MappingProxyType(
    {"name": 0.40, "birth_date": 0.25, "address": 0.20, "email": 0.10, "phone": 0.05}
)
TRANSPOSED_DATE = 0.7
OTHER_DOMAIN = 0.9
# A name at least this alike, plus one other component at least as alike, corroborate a merge.
CORROBORATION = 0.8
# Below this a shared e-mail or phone is not trusted alone (a family's landline, a shared inbox).
CONTACT_NAME_VETO = 0.5


@dataclass(frozen=True, slots=True)
class MatchScore:
    """The total (weighted mean of the components present) and the components themselves."""

    total: float
    components: MappingProxyType[str, float]
    corroborated: bool

    @property
    def shared_email(self) -> bool:
        return self.components.get("email") == 1.0

    @property
    def shared_phone(self) -> bool:
        return self.components.get("phone") == 1.0

    @property
    def name_conflict(self) -> bool:
        """Both sides have names and they are clearly different people's."""
        name = self.components.get("name")
        return name is not None and name < CONTACT_NAME_VETO

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, rounded: stored with review items and audit rows."""
        return {
            "total": round(self.total, 4),
            "components": {k: round(v, 4) for k, v in self.components.items()},
            "corroborated": self.corroborated,
        }


def score(
    a: MatchFeatures, b: MatchFeatures, shared_kinds: frozenset[str] = frozenset()
) -> MatchScore:
    """Compare two profiles' features.

    :param shared_kinds: match key kinds the two are known to share. A golden profile's
        document shows the surviving e-mail and phones only; its match keys hold those of every
        linked source record, so a shared key counts even when the document no longer shows it.
    """
    components: dict[str, float] = {}
    if a.has_name and b.has_name:
        components["name"] = name_score(a, b)
    if a.birth_date is not None and b.birth_date is not None:
        components["birth_date"] = birth_date_score(a.birth_date, b.birth_date)
    if a.addresses and b.addresses:
        components["address"] = _best(a.addresses, b.addresses)
    email = 1.0 if blocking.EMAIL in shared_kinds else email_score(a.emails, b.emails)
    if email is not None:
        components["email"] = email
    if blocking.PHONE in shared_kinds or set(a.phones) & set(b.phones):
        components["phone"] = 1.0
    weight = sum(WEIGHTS[k] for k in components)
    total = sum(WEIGHTS[k] * v for k, v in components.items()) / weight if weight else 0.0
    corroborated = components.get("name", 0.0) >= CORROBORATION and any(
        value >= (TRANSPOSED_DATE if key == "birth_date" else CORROBORATION)
        for key, value in components.items()
        if key != "name"
    )
    return MatchScore(total, MappingProxyType(components), corroborated)


def name_score(a: MatchFeatures, b: MatchFeatures) -> float:
    if a.given and a.family and b.given and b.family:
        ag, af, bg, bf = (" ".join(p) for p in (a.given, a.family, b.given, b.family))
        straight = (fuzz.ratio(ag, bg) + fuzz.ratio(af, bf)) / 2
        swapped = (fuzz.ratio(ag, bf) + fuzz.ratio(af, bg)) / 2
        return max(straight, swapped) / 100
    whole_a = " ".join((*a.given, *a.family))
    whole_b = " ".join((*b.given, *b.family))
    return float(fuzz.token_sort_ratio(whole_a, whole_b)) / 100


def birth_date_score(a: date, b: date) -> float:
    if a == b:
        return 1.0
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return TRANSPOSED_DATE
    da, db = a.strftime("%Y%m%d"), b.strftime("%Y%m%d")
    diffs = [i for i in range(len(da)) if da[i] != db[i]]
    if (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and da[diffs[0]] == db[diffs[1]]
        and (da[diffs[1]] == db[diffs[0]])
    ):
        return TRANSPOSED_DATE
    return 0.0


def email_score(a: tuple[str, ...], b: tuple[str, ...]) -> float | None:
    if not a or not b:
        return None
    if set(a) & set(b):
        return 1.0
    likeness = _best(tuple(map(email_local_part, a)), tuple(map(email_local_part, b)), fuzz.ratio)
    return OTHER_DOMAIN * likeness if likeness >= CORROBORATION else None


def _best(a: tuple[str, ...], b: tuple[str, ...], scorer: object = fuzz.token_sort_ratio) -> float:
    """The highest likeness (0 to 1) between any item of ``a`` and any of ``b``."""
    best = 0.0
    for item in a:
        found = process.extractOne(item, b, scorer=scorer)  # type: ignore[arg-type]
        if found is not None:
            best = max(best, found[1])
    return best / 100
