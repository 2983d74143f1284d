"""The hardened parser refuses every attack in the corpus, with an error naming the cause."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.errors import XMLLimitError, XMLSecurityError, XMLSyntaxError
from gateway.xml import XMLLimits, iter_records, parse_bytes, parse_file, read_limited
from gateway.xml.prolog import DOCTYPE_REFUSED
from tests.xml.attack_corpus import LONG_COMMENT, NS, SECRET, Attack, oversized_document

ATTACK_NAMES = [
    "xxe-general-entity-file",
    "xxe-parameter-entity-file",
    "xxe-http-entity",
    "billion-laughs",
    "quadratic-blowup",
    "external-dtd",
    "external-dtd-over-http",
    "xinclude",
    "doctype-after-long-comment",
    "parameter-entity-dev-zero",
    "doctype-after-long-pi",
    "doctype-in-utf-16-after-long-comment",
    "utf-32-document",
    "utf-7-declared",
    "namespace-flood",
    "attribute-flood",
    "deep-nesting",
]


def raised_within_deadline(action: Callable[[], object], deadline: float = 60) -> BaseException:
    """What ``action`` raised, run in a thread that must end within ``deadline`` seconds: a
    parser that opened an endless file (``/dev/zero``) would never return."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=deadline)
    assert not worker.is_alive(), "the parser did not return: it is reading an endless file"
    assert raised, "the document was accepted"
    return raised[0]


def test_a_missing_and_an_existing_file_get_the_same_answer(tmp_path: Path) -> None:
    """No file-existence oracle: libxml2 is never asked to open either."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    answers = []
    for target in (secret, tmp_path / "missing.txt"):
        document = (
            LONG_COMMENT + f'<!DOCTYPE a [<!ENTITY % pe SYSTEM "file://{target}"> %pe;]><a/>'
        ).encode()
        error = raised_within_deadline(lambda document=document: parse_bytes(document))
        answers.append(str(error))
    assert answers[0] == answers[1] == "<bytes>, line 2: " + DOCTYPE_REFUSED


def test_corpus_is_complete(attack_corpus: list[Attack]) -> None:
    assert [a.name for a in attack_corpus] == ATTACK_NAMES


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_attack_is_refused_in_memory(
    name: str, attack_corpus: list[Attack], trap_server: tuple[str, list[str]]
) -> None:
    attack = next(a for a in attack_corpus if a.name == name)
    error = raised_within_deadline(lambda: parse_bytes(attack.document, source=f"{name}.xml"))
    assert isinstance(error, attack.error), error
    message = str(error)
    assert f"{name}.xml" in message
    assert attack.cause in message
    assert SECRET not in message
    assert trap_server[1] == [], "the parser made a network request"


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_attack_is_refused_when_streamed(
    name: str, attack_corpus: list[Attack], tmp_path: Path, trap_server: tuple[str, list[str]]
) -> None:
    attack = next(a for a in attack_corpus if a.name == name)
    path = attack.write(tmp_path)

    def stream() -> None:
        for record in iter_records(path, f"{{{NS}}}Profile"):
            assert SECRET not in "".join(record.itertext())

    error = raised_within_deadline(stream)
    assert isinstance(error, attack.error), error
    assert str(path) in str(error)
    assert attack.cause in str(error)
    assert trap_server[1] == []


def test_document_over_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    path.write_bytes(oversized_document(50 * 1024 * 1024))
    with pytest.raises(XMLLimitError, match=r"over the limit of 10485760 bytes") as caught:
        parse_file(path)
    assert str(path) in str(caught.value)


def test_read_limited_stops_at_limit_plus_one() -> None:
    class Endless:
        def __init__(self) -> None:
            self.requested: list[int] = []

        def read(self, n: int) -> bytes:
            self.requested.append(n)
            return b"x" * n

    stream = Endless()
    with pytest.raises(XMLLimitError, match="over the limit of 1000 bytes"):
        read_limited(stream, 1000)  # type: ignore[arg-type]
    assert stream.requested == [1001]


def test_depth_limit_comes_from_limits() -> None:
    doc = b"<a>" + b"<b>" * 9 + b"</b>" * 9 + b"</a>"
    assert parse_bytes(doc, limits=XMLLimits(max_depth=10)).getroot().tag == "a"
    with pytest.raises(XMLLimitError, match="nest deeper than the limit of 9"):
        parse_bytes(doc, limits=XMLLimits(max_depth=9))


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(XMLSyntaxError) as caught:
        parse_bytes(b"<a>\n  <b></c>\n</a>", source="broken.xml")
    assert caught.value.line == 2
    assert caught.value.column is not None
    assert str(caught.value).startswith("broken.xml, line 2")


def test_plain_entity_references_are_never_expanded() -> None:
    # Predefined and character references are fine; they are not entities that need a DTD.
    tree = parse_bytes(b"<a>&lt;&#65;&amp;</a>")
    assert tree.getroot().text == "<A&"


def test_streaming_clears_records_behind_it(tmp_path: Path) -> None:
    path = tmp_path / "batch.xml"
    records = "".join(
        f'<Profile xmlns="{NS}"><Segments><Segment>s{i}</Segment></Segments></Profile>'
        for i in range(50)
    )
    path.write_text(f'<Batch xmlns="{NS}">{records}</Batch>')
    seen = []
    for record in iter_records(path, f"{{{NS}}}Profile"):
        seen.append(record[0][0].text)
        previous = record.getprevious()
        if previous is not None:  # the one before is cleared; all earlier ones are deleted
            assert len(previous) == 0 and previous.getprevious() is None
    assert seen == [f"s{i}" for i in range(50)]


@pytest.mark.parametrize(
    "document",
    [
        b"<!DOCTYPE a><a/>",
        b'<?xml version="1.0"?>\n<!-- a comment -->\n<?pi x?>\n<!DOCTYPE a><a/>',
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16"),
        b"\xef\xbb\xbf<!DOCTYPE a><a/>",
    ],
    ids=["bare", "after-prolog", "utf-16", "utf-8-bom"],
)
def test_doctype_refused_before_parsing(document: bytes) -> None:
    with pytest.raises(XMLSecurityError, match="DOCTYPE is not allowed"):
        parse_bytes(document)
