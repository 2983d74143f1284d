"""The XML attack corpus: each case is a document the hardened parser must refuse.

Built at test time because some cases need a path or a port known only then (a local file with
a secret in it, a real HTTP server on 127.0.0.1 that must never be called).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.errors import XMLError, XMLLimitError, XMLSecurityError

SECRET = "TOP-SECRET-LINE-7f3a"
NS = "urn:cpex:profile:1.0"


@dataclass(frozen=True)
class Attack:
    name: str
    document: bytes
    error: type[XMLError]
    cause: str  # a word the error message must contain

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.xml"
        path.write_bytes(self.document)
        return path


def _profile(body: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<Profile xmlns="{NS}"><Identifiers>'
        f'<Identifier system="erp" key="1"/></Identifiers><Person><GivenName>{body}</GivenName>'
        f"</Person></Profile>\n"
    ).encode()


def build_corpus(secret_file: Path, http_url: str, dtd_file: Path) -> list[Attack]:
    laughs = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    dtd_file.write_text(f'<!ENTITY leak SYSTEM "file://{secret_file}">')
    big = "x" * 50_000
    return [
        Attack(
            "xxe-general-entity-file",
            _profile("&xxe;", f'<!DOCTYPE Profile [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'),
            XMLSecurityError,
            "DOCTYPE",
        ),
        Attack(
            "xxe-parameter-entity-file",
            _profile(
                "x",
                f'<!DOCTYPE Profile [<!ENTITY % pe SYSTEM "file://{secret_file}"> %pe;]>',
            ),
            XMLSecurityError,
            "",
        ),
        Attack(
            "xxe-http-entity",
            _profile("&net;", f'<!DOCTYPE Profile [<!ENTITY net SYSTEM "{http_url}">]>'),
            XMLSecurityError,
            "DOCTYPE",
        ),
        Attack(
            "billion-laughs",
            _profile("&lol9;", "<!DOCTYPE Profile [" + "".join(laughs) + "]>"),
            XMLSecurityError,
            "DOCTYPE",
        ),
        Attack(
            "quadratic-blowup",
            _profile("&big;" * 10_000, f'<!DOCTYPE Profile [<!ENTITY big "{big}">]>'),
            XMLSecurityError,
            "DOCTYPE",
        ),
        Attack(
            "external-dtd",
            _profile("&leak;", f'<!DOCTYPE Profile SYSTEM "file://{dtd_file}">'),
            XMLSecurityError,
            "DOCTYPE",
        ),
        Attack(
            "external-dtd-over-http",
            _profile("x", f'<!DOCTYPE Profile SYSTEM "{http_url}">'),
            XMLSecurityError,
            "DOCTYPE",
        ),
        Attack(
            "xinclude",
            _profile(
                f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret_file}"'
                ' parse="text"/>'
            ),
            XMLSecurityError,
            "XInclude",
        ),
        Attack(
            "deep-nesting",
            _profile("<b>" * 200 + "x" + "</b>" * 200),
            XMLLimitError,
            "nest deeper",
        ),
    ]


def oversized_document(size: int) -> bytes:
    """A well-formed document of about ``size`` bytes (many harmless segments)."""
    head = f'<Profile xmlns="{NS}"><Segments>'.encode()
    tail = b"</Segments></Profile>"
    segment = b"<Segment>" + b"s" * 1000 + b"</Segment>"
    return head + segment * (size // len(segment) + 1) + tail
