"""Normal forms of the values records are matched on.

Two records of one customer rarely spell things the same way: case, spaces, accents, phone
formats. Matching compares these normal forms, never the raw values. Deliberately *not* done:
provider-specific e-mail tricks (gmail dots, ``+tags``): they are not true for every provider,
and a wrong merge costs more than a missed one (which fuzzy matching or review still catches).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, accents removed, runs of anything but letters and digits made one space."""
    if text.isascii():  # most values: nothing to decompose, and casefold is lower
        return _NON_ALNUM.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", ascii_text).strip()


# Street-type abbreviations written out, so "1 High St" and "1 High Street" read the same. A short
# list of the common English ones: others simply score a little lower, they do not break matching.
_ADDRESS_WORDS = {
    "st": "street",
    "rd": "road",
    "ln": "lane",
    "ave": "avenue",
    "av": "avenue",
    "dr": "drive",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "blvd": "boulevard",
    "hwy": "highway",
    "cres": "crescent",
    "gdns": "gardens",
    "apt": "apartment",
    "str": "strasse",
}


def address_words(text: str) -> str:
    """Folded, with street-type abbreviations written out."""
    return " ".join(_ADDRESS_WORDS.get(word, word) for word in fold(text).split())


def name_tokens(*parts: str | None) -> tuple[str, ...]:
    """The folded words of the name parts given, in order ("Jean-Luc" gives two words)."""
    return tuple(word for part in parts if part for word in fold(part).split())


def email(address: str) -> str | None:
    """Trimmed and lower-cased; None unless it has one ``@`` with text on both sides."""
    value = address.strip().lower()
    local, at, domain = value.partition("@")
    if not (at and local and domain) or "@" in domain:
        return None
    return value


def email_local_part(normalised: str) -> str:
    """The part before ``@`` with its punctuation removed (``john.smith`` → ``johnsmith``)."""
    return _NON_ALNUM.sub("", normalised.partition("@")[0])


# 8192 numbers are a few MB; 65536 held about 30 MB of a streaming import's RSS (ingest
# benchmark, 100k profiles of distinct numbers).
@lru_cache(maxsize=8192)
def phone(number: str, default_region: str) -> str | None:
    """The number in E.164 (``+442071234567``), or None when it is not a possible number.

    Numbers without a leading ``+`` are read as national numbers of ``default_region``. Cached:
    batches repeat numbers, and parsing costs about 10 µs.
    """
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def postcode(value: str) -> str:
    """Upper case without spaces or punctuation (``sw1y 4jh`` → ``SW1Y4JH``)."""
    return _NON_ALNUM.sub("", value.lower()).upper()
