"""Streaming reads stay in constant memory: the skeleton keeps one emptied record per run of
records, and content that runs on past ``max_bytes`` without a record ending is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gateway.errors import XMLLimitError
from gateway.xml import XMLLimits, iter_records, read_skeleton
from gateway.xml.parser import MarkupCounts
from tests.xml.attack_corpus import NS

TAG = f"{{{NS}}}Profile"


def batch(records: int, between: str = "") -> bytes:
    one = f'<Profile xmlns="{NS}"><Segments><Segment>s</Segment></Segments></Profile>'
    return f'<Batch xmlns="{NS}">{one * records}{between}{one * records}</Batch>'.encode()


def test_the_skeleton_keeps_one_empty_record_per_run_and_everything_else() -> None:
    root = read_skeleton(io.BytesIO(batch(5000, "<Note>kept</Note>")), TAG)
    assert [child.tag.rpartition("}")[2] for child in root] == ["Profile", "Note", "Profile"]
    assert all(len(child) == 0 for child in root if child.tag == TAG)
    assert root[1].text == "kept"


@pytest.mark.parametrize("read", ["skeleton", "records"])
def test_content_without_a_record_ending_is_bounded(read: str, tmp_path: Path) -> None:
    path = tmp_path / "junk.xml"
    path.write_bytes(b"<root>" + b"<junk>xxxxxxxxxxxxxxxxxxxx</junk>" * 100_000 + b"</root>")
    limits = XMLLimits(max_bytes=256 * 1024)
    with pytest.raises(XMLLimitError, match="without a record ending") as caught:
        if read == "skeleton":
            read_skeleton(path, TAG, limits=limits)
        else:
            list(iter_records(path, TAG, limits=limits))
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("codec", ["latin-1", "utf-16-le", "utf-16-be"])
def test_markup_is_counted_the_same_whatever_the_chunks(codec: str) -> None:
    """A stream is counted as the parser reads it: a pattern cut by a chunk boundary counts
    once, and nothing counts twice."""
    document = '<a xmlns:x="u" b="1" c="2"><d xmlns="v" e="3"/></a>'.encode(codec)
    for step in (1, 2, 3, 5, 7, len(document)):
        counts = MarkupCounts(codec)
        for start in range(0, len(document), step):
            counts.feed(document[start : start + step])
        assert (counts.declarations, counts.equals) == (2, 5), step
