"""The prolog check: a DOCTYPE is refused before libxml2 reads a byte of it, wherever it stands.

A DOCTYPE can only stand in the prolog: after the XML declaration, comments, processing
instructions and white space, before the root element. So the prolog is read to its end, each
comment and PI skipped whole however long it is (no window: a DOCTYPE after a 70 KB comment is
found like one on the first line), and stops at the first other markup. Anything there that is
not a DOCTYPE is libxml2's to judge.

The scan reads markup the way libxml2 will: UTF-8 and the single-byte encodings by their ASCII
bytes, UTF-16 by its byte order mark or first bytes. Documents in any other encoding (UTF-32,
EBCDIC, UTF-7, ISO-2022, ...) are refused, since a scan could not see their markup and no CPEX
partner needs them. The second guard is the parser itself (:mod:`gateway.xml.parser`): it loads
nothing external, so even a DOCTYPE this scan could not see opens no file and no socket.
"""

from __future__ import annotations

import re
from typing import IO

from gateway.errors import XMLLimitError, XMLSecurityError

DOCTYPE_REFUSED = "a DOCTYPE is not allowed (DTDs and entities are refused)"

#: Declared encodings whose markup is ASCII (or that are UTF-16, detected from the bytes).
ACCEPTED_ENCODINGS = frozenset(
    ["utf8", "usascii", "ascii", "utf16", "utf16le", "utf16be", "latin1", "cp1252", "windows1252"]
    + [f"iso8859{n}" for n in range(1, 17)]
)

_XML_SPACE = " \t\r\n"
_DOCTYPE = "<!DOCTYPE"
_OPENERS = ("<?", "<!--", _DOCTYPE)
_DECLARED = re.compile(r"<\?xml\s[^?]*?encoding\s*=\s*([\"'])(?P<name>[^\"']*)\1")
_FIRST_READ = 64 * 1024


def check_prolog(data: bytes, *, source: str) -> None:
    """Refuse a DOCTYPE (or an encoding the scan cannot read) in a whole document.

    The start is decoded in doubling windows, so a small prolog costs nothing however large the
    document, and a long one is still read to its end.
    """
    size = _FIRST_READ
    while not _check(data[:size], source=source, final=size >= len(data)):
        size *= 2


def read_prolog(stream: IO[bytes], *, source: str, limit: int) -> bytes:
    """Read the start of a stream until its prolog has ended (or the stream has), checking it.

    :returns: the bytes read, to be handed to the parser in front of the rest of the stream.
    :raises XMLLimitError: the prolog goes on past ``limit`` bytes.
    """
    head = b""
    while True:
        chunk = stream.read(max(len(head), _FIRST_READ))
        head += chunk
        if _check(head, source=source, final=not chunk):
            return head
        if len(head) > limit:
            raise XMLLimitError(
                f"the prolog (before the root element) is over the limit of {limit} bytes",
                source=source,
            )


def _check(data: bytes, *, source: str, final: bool) -> bool:
    """True when the prolog ended within ``data`` (checked); False when ``data`` ends inside
    it and is not ``final`` (read more)."""
    text = _decode(data, source)
    if _prolog_end(text, final, source) is None:
        return False
    declared = _DECLARED.match(text)
    if declared is not None:
        name = declared.group("name")
        if re.sub(r"[-_\s]", "", name.lower()) not in ACCEPTED_ENCODINGS:
            raise XMLSecurityError(
                f"encoding '{name[:40]}' is not accepted (send UTF-8; UTF-16, US-ASCII and "
                "ISO-8859 are read too)",
                source=source,
                line=1,
            )
    return True


def markup_codec(data: bytes, *, source: str) -> str:
    """The codec that reads a document's markup as libxml2 will (from its first bytes):
    ``utf-16-le``, ``utf-16-be``, or ``latin-1`` for every encoding whose markup is ASCII."""
    if data.startswith(
        (
            b"\x00\x00\xfe\xff",
            b"\xff\xfe\x00\x00",
            b"\x00\x00\x00<",
            b"<\x00\x00\x00",
            b"\x4c\x6f\xa7\x94",
        )
    ):
        raise XMLSecurityError(
            "the document's encoding (UTF-32 or EBCDIC) is not accepted (send UTF-8)",
            source=source,
            line=1,
        )
    if data.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if data.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    return "latin-1"


def _decode(data: bytes, source: str) -> str:
    """The document's start as text, decoded as libxml2 will read its markup."""
    codec = markup_codec(data, source=source)
    if codec == "latin-1":
        return data.removeprefix(b"\xef\xbb\xbf").decode(codec)
    return data[: len(data) // 2 * 2].decode(codec, errors="replace").removeprefix("\ufeff")


def _more_needed(rest: str) -> bool:
    """True when the text left may be the start of a comment, PI or DOCTYPE cut off."""
    return len(rest) < len(_DOCTYPE) and any(
        o.startswith(rest.upper()) or rest.startswith(o) for o in _OPENERS
    )


def _prolog_end(text: str, final: bool, source: str) -> int | None:
    """Where the prolog ends in ``text`` (the first markup that is not a comment or PI), or
    None when ``text`` ends inside it and more may come. Raises on a DOCTYPE."""
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _XML_SPACE:
            i += 1
        rest = text[i : i + len(_DOCTYPE)]
        if rest.upper() == _DOCTYPE:
            raise XMLSecurityError(DOCTYPE_REFUSED, source=source, line=text.count("\n", 0, i) + 1)
        if not final and _more_needed(rest):
            return None
        if text.startswith("<?", i):
            close = text.find("?>", i + 2)
        elif text.startswith("<!--", i):
            close = text.find("-->", i + 4)
            close = close + 1 if close >= 0 else close
        else:
            return i  # the root element, or something libxml2 will refuse
        if close < 0:
            return None if not final else n
        i = close + 2
