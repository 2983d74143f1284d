"""A batch that stops on an error leaves its inbound message ``failed``, not ``processing``
forever; a re-send runs it again and ends ``done``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from gateway.errors import XMLSyntaxError
from gateway.pipeline.runner import DEFAULT_MAPPING, Batch, Pipeline
from gateway.pipeline.tables import inbound_message
from gateway.runtime import Gateway
from gateway.xml.stream import iter_records
from tests.pipeline.conftest import envelope, profile

TAG = "{urn:cpex:profile:1.0}Profile"


def status(gateway: Gateway) -> list[str]:
    with gateway.engine.connect() as conn:
        return list(conn.execute(select(inbound_message.c.status)).scalars())


def test_a_batch_cut_by_an_error_is_failed_then_a_resend_completes(
    gateway: Gateway, tmp_path: Path
) -> None:
    path = tmp_path / "batch.xml"
    path.write_text(envelope([profile("1", "Smith"), profile("2", "Jones")]))
    batch = Batch("shop", str(path), "m-1", DEFAULT_MAPPING, "import")

    def cut_after_one() -> Iterator[etree._Element]:
        for record in iter_records(path, TAG):
            yield record
            raise XMLSyntaxError("the file ends in the middle of a record", source=str(path))

    with pytest.raises(XMLSyntaxError):
        Pipeline(gateway, batch, chunk_size=1).run_elements(cut_after_one())
    assert status(gateway) == ["failed"]

    report = Pipeline(gateway, batch).run_elements(iter_records(path, TAG))
    assert not report.replayed
    assert [o.status for o in report.outcomes] == ["unchanged", "created"]
    assert status(gateway) == ["done"]
