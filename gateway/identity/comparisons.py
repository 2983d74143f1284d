"""Per-field comparison levels: how two profiles' values of one field agree.

Each comparison puts a pair of values into one of a few ordered levels, strongest agreement
first and ``different`` last; a value missing on either side gives no level at all (no evidence
either way). The levels are what the Fellegi-Sunter model (:mod:`gateway.identity.model`) has an
m and a u probability for. Pure: strings in, level names out.

Names are compared straight and with given and family name swapped; the caller keeps the
arrangement the model likes better (:func:`name_levels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from types import MappingProxyType

from rapidfuzz.distance import JaroWinkler, Levenshtein

from gateway.identity.features import MatchFeatures

DIFFERENT = "different"

#: Every comparison and its levels, strongest first. The model file gives m and u for each.
LEVELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "given_name": ("exact", "nickname", "jw92", "jw85", "initial", DIFFERENT),
        "family_name": ("exact", "jw92", "jw85", "initial", DIFFERENT),
        "birth_date": ("exact", "day_month_swapped", "transposed", "one_digit", DIFFERENT),
        "street": ("exact", "lev90", "lev70", DIFFERENT),
        "city": ("exact", "jw92", "jw85", DIFFERENT),
        "postcode": ("exact", "one_edit", DIFFERENT),
        "region": ("exact", DIFFERENT),
        "email": ("exact", "local_part", DIFFERENT),
        "phone": ("exact", DIFFERENT),
    }
)
#: Comparisons whose exact level may be adjusted by the frequency of the value.
TERM_FREQUENCY = frozenset({"given_name", "family_name", "city", "postcode"})
NAMES = ("given_name", "family_name")

Levels = dict[str, str]  # comparison -> level, only for comparisons with values on both sides
Nicknames = Mapping[str, frozenset[str]]  # folded name -> the names of its group


def given_name_level(a: str, b: str, nicknames: Nicknames | None) -> str:
    """Level of two folded given names: the whole names, or their first words when either has
    more (a middle name on one side only: "ada" and "ada augusta" are one name)."""
    whole = name_level(a, b, nicknames)
    if whole == "exact" or (" " not in a and " " not in b):
        return whole
    first = name_level(a.partition(" ")[0], b.partition(" ")[0], nicknames)
    order = LEVELS["given_name"]
    return min(whole, first, key=order.index)


def name_level(a: str, b: str, nicknames: Nicknames | None = None) -> str:
    """Level of two folded names (given or family)."""
    if a == b:
        return "exact"
    if nicknames is not None and b in nicknames.get(a, ()):
        return "nickname"
    similarity = JaroWinkler.similarity(a, b)
    if similarity >= 0.92:
        return "jw92"
    if similarity >= 0.85:
        return "jw85"
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return "initial"
    return DIFFERENT


def date_level(a: date, b: date) -> str:
    if a == b:
        return "exact"
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return "day_month_swapped"
    da = f"{a.year:04d}{a.month:02d}{a.day:02d}"
    db = f"{b.year:04d}{b.month:02d}{b.day:02d}"
    diffs = [i for i in range(8) if da[i] != db[i]]
    if len(diffs) == 1:
        return "one_digit"
    if (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and da[diffs[0]] == db[diffs[1]]
        and da[diffs[1]] == db[diffs[0]]
    ):
        return "transposed"
    return DIFFERENT


def street_level(a: str, b: str) -> str:
    if a == b:
        return "exact"
    similarity = Levenshtein.normalized_similarity(a, b)
    if similarity >= 0.9:
        return "lev90"
    if similarity >= 0.7:
        return "lev70"
    return DIFFERENT


def city_level(a: str, b: str) -> str:
    if a == b:
        return "exact"
    similarity = JaroWinkler.similarity(a, b)
    return "jw92" if similarity >= 0.92 else "jw85" if similarity >= 0.85 else DIFFERENT


def postcode_level(a: str, b: str) -> str:
    if a == b:
        return "exact"
    return "one_edit" if Levenshtein.distance(a, b, score_cutoff=1) <= 1 else DIFFERENT


def exact_level(a: str, b: str) -> str:
    return "exact" if a == b else DIFFERENT


def email_level(a: str, b: str) -> str:
    if a == b:
        return "exact"
    local_a, local_b = a.partition("@")[0], b.partition("@")[0]
    return "local_part" if local_a == local_b and len(local_a) >= 3 else DIFFERENT


def best(
    comparison: str, a: Iterable[str], b: Iterable[str], level: Callable[[str, str], str]
) -> str | None:
    """The strongest level between any value of ``a`` and any of ``b`` (None: one side empty)."""
    order = LEVELS[comparison]
    found: int | None = None
    others = tuple(b)
    for x in a:
        for y in others:
            rank = order.index(level(x, y))
            if found is None or rank < found:
                found = rank
                if rank == 0:
                    return order[0]
    return None if found is None else order[found]


def other_levels(a: MatchFeatures, b: MatchFeatures) -> Levels:
    """Every level but the names' (see :func:`name_levels`)."""
    levels: Levels = {}
    if a.birth_date is not None and b.birth_date is not None:
        levels["birth_date"] = date_level(a.birth_date, b.birth_date)
    for comparison, x, y, level in (
        ("street", a.streets, b.streets, street_level),
        ("city", a.cities, b.cities, city_level),
        ("postcode", a.postcodes, b.postcodes, postcode_level),
        ("region", a.regions, b.regions, exact_level),
        ("email", a.emails, b.emails, email_level),
        ("phone", a.phones, b.phones, exact_level),
    ):
        found = best(comparison, x, y, level)
        if found is not None:
            levels[comparison] = found
    return levels


def name_levels(
    a: MatchFeatures, b: MatchFeatures, nicknames: Nicknames | None, *, swapped: bool
) -> Levels:
    """Levels of the given and family names, straight or with ``b``'s two swapped."""
    b_given, b_family = (b.family_name, b.given_name) if swapped else (b.given_name, b.family_name)
    levels: Levels = {}
    if a.given and b_given:
        levels["given_name"] = given_name_level(a.given_name, b_given, nicknames)
    if a.family and b_family:
        levels["family_name"] = name_level(a.family_name, b_family)
    return levels
