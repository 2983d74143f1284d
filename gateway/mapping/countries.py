"""Country names and codes, from maintained data: ISO 3166 (pycountry) and CLDR (babel).

``country_table`` answers "which ISO 3166-1 country is this?" for an alpha-2 or alpha-3 code or a
name: the ISO short, official and common names (pycountry), the names CLDR gives in the chosen
languages (English, French and German by default: "Germany", "Allemagne", "Deutschland"), and the
usual short forms that neither lists ("UK", "USA", "Great Britain"). Names are compared without
case, accents or punctuation (a straight or a curly apostrophe alike). A name two countries share
is left to the first source that gives it (ISO before CLDR), so "Congo" is the Republic of the
Congo as in ISO 3166.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import pycountry
from babel import Locale, UnknownLocaleError

#: Short forms in everyday use that neither ISO 3166 nor CLDR lists as a name.
ALIASES: dict[str, str] = {
    "UK": "GB",
    "U K": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Grossbritannien": "GB",
    "Grande Bretagne": "GB",
    "Angleterre": "GB",
    "Ecosse": "GB",
    "Schottland": "GB",
    "USA": "US",
    "US": "US",
    "U S A": "US",
    "United States of America": "US",
    "America": "US",
    "Amerika": "US",
    "Etats Unis d Amerique": "US",
    "UAE": "AE",
    "Holland": "NL",
    "Czech Republic": "CZ",
    "Tschechische Republik": "CZ",
    "Republique tcheque": "CZ",
    "Russia": "RU",
    "Russland": "RU",
    "Vatican": "VA",
    "Ivory Coast": "CI",
    "Burma": "MM",
    "Macedonia": "MK",
    "Swaziland": "SZ",
    "Turkey": "TR",
    "Tuerkei": "TR",
    "South Korea": "KR",
    "North Korea": "KP",
}

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "fr", "de")

_SEPARATORS = re.compile(r"[^0-9a-z]+")


def normalise_name(text: str) -> str:
    """A name as compared: no accents, case or punctuation ('Côte d Ivoire' -> 'cote d ivoire',
    'U.S.A.' -> 'usa')."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _SEPARATORS.sub(" ", plain.replace(".", "")).strip()


@dataclass(frozen=True, slots=True)
class CountryTable:
    """Lookups from codes and names to ISO 3166-1 alpha-2, and from alpha-2 to any form."""

    by_alpha2: dict[str, str]
    by_alpha3: dict[str, str]
    by_name: dict[str, str]  # normalised name -> alpha-2

    def find(self, text: str, *, codes: bool = True, names: bool = True) -> str | None:
        """The alpha-2 code of a code or name, or None."""
        key = text.strip()
        if codes:
            upper = key.upper()
            found = self.by_alpha2.get(upper) or self.by_alpha3.get(upper)
            if found is not None:
                return found
        if names:
            return self.by_name.get(normalise_name(key))
        return None

    @staticmethod
    def render(alpha2: str, form: str) -> str:
        """An alpha-2 code as ``alpha2``, ``alpha3`` or the ISO English ``name``."""
        if form == "alpha2":
            return alpha2
        country = pycountry.countries.get(alpha_2=alpha2)
        if country is None:  # pragma: no cover - every table entry is an ISO country
            raise KeyError(alpha2)
        return str(country.alpha_3 if form == "alpha3" else country.name)


@cache
def country_table(languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> CountryTable:
    """The table for names in ``languages`` (CLDR locale codes).

    :raises ValueError: a language CLDR does not know.
    """
    by_alpha2 = {c.alpha_2: c.alpha_2 for c in pycountry.countries}
    by_alpha3 = {c.alpha_3: c.alpha_2 for c in pycountry.countries}
    by_name: dict[str, str] = {}

    def add(name: str, code: str) -> None:
        by_name.setdefault(normalise_name(name), code)

    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                add(name, country.alpha_2)
    for language in languages:
        try:
            territories = Locale.parse(language).territories
        except (UnknownLocaleError, ValueError) as exc:
            raise ValueError(f"unknown language {language!r}") from exc
        for code, name in territories.items():
            if code in by_alpha2:
                add(name, code)
    for alias, code in ALIASES.items():
        add(alias, code)
    return CountryTable(by_alpha2, by_alpha3, by_name)
