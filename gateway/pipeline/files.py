"""Batch files: stream a CPEX envelope (or any XML file an inbound mapping reads) through the
pipeline, in constant memory whatever the file size.

The envelope header gives the default source system (``Sender``) and the message id that makes
a re-sent file idempotent (:mod:`.messages`); ``reprocess`` runs a file again anyway (after a
mapping fix: each record is then stored again only if its mapped content changed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import GatewayError
from gateway.model.namespaces import CPEX_EXCHANGE_NS
from gateway.pipeline.outcome import BatchReport, RecordOutcome
from gateway.pipeline.runner import CHUNK_SIZE, DEFAULT_MAPPING, Batch, Pipeline, record_tag
from gateway.runtime import Gateway
from gateway.xml.parser import iter_records

HEADER_TAG = f"{{{CPEX_EXCHANGE_NS}}}Header"
_SENDER = f"{{{CPEX_EXCHANGE_NS}}}Sender"
_MESSAGE_ID = f"{{{CPEX_EXCHANGE_NS}}}MessageId"


class ImportSourceError(GatewayError):
    """A file with no Sender in its header, imported without naming the source system."""

    code = "no_source_system"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(
            f"{path}: no source system: the envelope header has no Sender; pass --source NAME"
        )


@dataclass(frozen=True, slots=True)
class FileHeader:
    sender: str | None
    message_id: str | None


def read_header(gateway: Gateway, path: str | os.PathLike[str]) -> FileHeader:
    """The envelope header's Sender and MessageId, read without loading the file (the stream
    stops at the header)."""
    for header in iter_records(path, HEADER_TAG, limits=gateway.xml_limits):
        return FileHeader(_text(header.findtext(_SENDER)), _text(header.findtext(_MESSAGE_ID)))
    return FileHeader(None, None)


def import_file(
    gateway: Gateway,
    path: str | os.PathLike[str],
    *,
    source_system: str | None = None,
    mapping: str = DEFAULT_MAPPING,
    reprocess: bool = False,
    keep_outcomes: bool = True,
    on_record: Callable[[RecordOutcome], None] | None = None,
    actor: str = "import",
    chunk_size: int = CHUNK_SIZE,
) -> BatchReport:
    """Run every record of a file through the pipeline; returns the batch report.

    :raises ImportSourceError: no ``source_system`` and no Sender in the header.
    :raises XMLError: the file is not well-formed, or refused by the hardened parser (records
        read before the fault are stored).
    :raises NotFoundError: no inbound mapping of that name.
    """
    header = read_header(gateway, path) if mapping == DEFAULT_MAPPING else FileHeader(None, None)
    system = source_system or header.sender
    if not system:
        raise ImportSourceError(path)
    message_id = None if reprocess or header.message_id is None else header.message_id
    batch = Batch(system, os.fspath(path), message_id, mapping, actor,
                  file_name=os.path.basename(path))
    pipeline = Pipeline(
        gateway, batch, chunk_size=chunk_size, keep_outcomes=keep_outcomes, on_record=on_record
    )
    tag = record_tag(pipeline.decoder.mapping) if pipeline.decoder.mapping else ""
    return pipeline.run_elements(iter_records(path, tag, limits=gateway.xml_limits))


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None
