"""What matching looks at in a profile, taken once from its stored JSON document.

Matching works on the documents (:func:`gateway.model.to_dict` form) rather than Profile
objects: candidate golden profiles come out of the database as JSON, and decoding each into
dataclasses only to read a dozen values would cost more than the comparisons themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.identity import normalize


@dataclass(frozen=True, slots=True)
class MatchFeatures:
    """The normalised values of one profile that matching compares."""

    given: tuple[str, ...]  # folded words of the given (and middle) name
    family: tuple[str, ...]  # folded words of the family name, or of an organisation's name
    birth_date: date | None
    addresses: tuple[str, ...]  # folded "lines postcode city", one per address
    postcodes: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]  # E.164
    streets: tuple[str, ...] = ()  # folded address lines, abbreviations written out
    cities: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    organization: bool = False  # an organisation's profile (``family`` holds its name)
    registration: tuple[str, ...] = ()  # an organisation's registration number, folded

    @property
    def has_name(self) -> bool:
        return bool(self.given or self.family)

    @property
    def given_name(self) -> str:
        return " ".join(self.given)

    @property
    def family_name(self) -> str:
        return " ".join(self.family)

    @property
    def initials(self) -> frozenset[str]:
        """First letters of every name word: blocking on these survives swapped name parts."""
        return frozenset(word[0] for word in (*self.given, *self.family))


def features(document: Mapping[str, Any], default_region: str) -> MatchFeatures:
    """The match features of a profile document."""
    person = document.get("person") or {}
    organization = document.get("organization") or {}
    if person:
        given = normalize.name_tokens(person.get("given_name"), person.get("middle_name"))
        family = normalize.name_tokens(person.get("family_name"))
    else:
        given, family = (), normalize.name_tokens(organization.get("name"))
    birth = person.get("birth_date")
    addresses = document.get("addresses") or ()
    emails = (normalize.email(e["address"]) for e in document.get("emails") or ())
    phones = (normalize.phone(p["number"], default_region)
              for p in document.get("phones") or () if p.get("number"))
    registration = normalize.postcode(organization.get("registration_number") or "")
    return MatchFeatures(
        given=given,
        family=family,
        birth_date=date.fromisoformat(birth) if birth else None,
        addresses=tuple(text for a in addresses if (text := normalize.fold(_address_text(a)))),
        postcodes=_distinct(normalize.postcode(a.get("postal_code") or "") for a in addresses),
        emails=tuple(dict.fromkeys(e for e in emails if e)),
        phones=tuple(dict.fromkeys(p for p in phones if p)),
        streets=_distinct(normalize.address_words(" ".join(a.get("lines", ()))) for a in addresses),
        cities=_distinct(normalize.fold(a.get("city") or "") for a in addresses),
        regions=_distinct(normalize.fold(a.get("region") or "") for a in addresses),
        organization=bool(organization) and not person,
        registration=(registration,) if registration else (),
    )


def _distinct(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _address_text(address: Mapping[str, Any]) -> str:
    """Lines and city as normalised words, the postcode as one token (``SW1Y 4JH`` and
    ``sw1y4jh`` must agree)."""
    words = normalize.address_words(
        " ".join((*address.get("lines", ()), address.get("city") or ""))
    )
    code = normalize.postcode(address.get("postal_code") or "").lower()
    return f"{words} {code}".strip()
