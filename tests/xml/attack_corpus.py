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


LONG_COMMENT = "<!--" + "c" * 70_000 + "-->\n"  # pushes a DOCTYPE past any fixed scan window


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
            "doctype-after-long-comment",
            _profile(
                "x",
                LONG_COMMENT
                + f'<!DOCTYPE Profile [<!ENTITY % pe SYSTEM "file://{secret_file}"> %pe;]>',
            ),
            XMLSecurityError,
            "DOCTYPE is not allowed",
        ),
        Attack(
            "parameter-entity-dev-zero",  # an endless file: opening it would pin the thread
            _profile(
                "x",
                LONG_COMMENT + '<!DOCTYPE Profile [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]>',
            ),
            XMLSecurityError,
            "DOCTYPE is not allowed",
        ),
        Attack(
            "doctype-after-long-pi",
            _profile("x", "<?pad " + "p" * 70_000 + "?>\n<!DOCTYPE Profile>"),
            XMLSecurityError,
            "DOCTYPE is not allowed",
        ),
        Attack(
            "doctype-in-utf-16-after-long-comment",
            (LONG_COMMENT + f'<!DOCTYPE Profile [<!ENTITY % pe SYSTEM "file://{secret_file}">'
             f' %pe;]><Profile xmlns="{NS}"/>').encode("utf-16"),
            XMLSecurityError,
            "DOCTYPE is not allowed",
        ),
        Attack(
            "utf-32-document",  # markup a byte scan cannot read
            f'<!DOCTYPE Profile SYSTEM "file://{dtd_file}"><Profile xmlns="{NS}"/>'.encode(
                "utf-32"
            ),
            XMLSecurityError,
            "encoding",
        ),
        Attack(
            "utf-7-declared",
            b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE Profile+AD4-<Profile/>',
            XMLSecurityError,
            "encoding 'UTF-7' is not accepted",
        ),
        Attack(
            "namespace-flood",  # 80,000 declarations: the validator's cost is quadratic in them
            _profile("x").replace(
                b"<Profile ",
                b"<Profile " + b" ".join(b'xmlns:p%d="urn:x:%d"' % (i, i) for i in range(80_000))
                + b" ",
            ),
            XMLLimitError,
            "namespaces in scope, over the limit of 64",
        ),
        Attack(
            "attribute-flood",
            _profile("x").replace(
                b"<Person>",
                b"<Person " + b" ".join(b'a%d="1"' % i for i in range(5_000)) + b">",
            ),
            XMLLimitError,
            "5000 attributes, over the limit of 256",
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
