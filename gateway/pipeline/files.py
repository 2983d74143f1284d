"""Batch files: stream a CPEX envelope (or any XML file an inbound mapping reads) through the
pipeline, in constant memory whatever the file size.

The whole file is checked before a record is stored (:func:`check_file`, a first streaming
pass): everything outside the records is validated against the schema of the root element's
namespace, and every record passes the hardened parser's checks, so a file with XInclude, an
unknown element between the records or broken XML at its end is refused with nothing stored.
The records' own validity is the pipeline's business: an invalid record is quarantined alone.

The envelope header gives the default source system (``Sender``) and the message id that makes
a re-sent file idempotent (:mod:`.messages`); ``reprocess`` runs a file again anyway (after a
mapping fix: each record is then stored again only if its mapped content changed).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import GatewayError, UnknownSchemaError
from gateway.model.namespaces import CPEX_EXCHANGE_NS
from gateway.pipeline.outcome import BatchReport, RecordOutcome
from gateway.pipeline.runner import CHUNK_SIZE, DEFAULT_MAPPING, Batch, Pipeline, record_tag
from gateway.runtime import Gateway
from gateway.xml.stream import is_placeholder, iter_records, read_skeleton

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


def check_file(gateway: Gateway, path: str | os.PathLike[str], tag: str) -> None:
    """Refuse the file unless the whole of it is sound (module doc); streams it once, in
    constant memory.

    :raises XMLError: with the place of the first problem (a :class:`SchemaValidationError`
        lists every issue outside the records).
    """
    skeleton = read_skeleton(path, tag, limits=gateway.xml_limits)
    # no schema for the file's root: the records are still validated one by one
    with contextlib.suppress(UnknownSchemaError):
        gateway.schemas.validate(
            skeleton, source=os.fspath(path), skip=lambda element: is_placeholder(element, tag)
        )


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
    :raises XMLError: the file is not well-formed, refused by the hardened parser or invalid
        outside its records (:func:`check_file`; nothing is stored).
    :raises NotFoundError: no inbound mapping of that name.
    """
    compiled = gateway.mappings.get(mapping)
    tag = record_tag(compiled)
    check_file(gateway, path, tag)
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
    return pipeline.run_elements(iter_records(path, tag, limits=gateway.xml_limits))


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None
