"""The importer's original entry points, kept for their callers, now run by the pipeline.

:func:`import_batch` (the demo, the file-drop job) imports a whole file as
:func:`gateway.pipeline.files.import_file` with ``reprocess``: these callers keep their own
ledger of files, so the message-id ledger is left out and every record is seen (each is
``unchanged`` when its content is). :func:`import_record` stores one record of a partner's
message (SubmitProfiles, REST upsert) by the same rules: validated, decoded, resolved, stored
with its outbox event, or quarantined.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from lxml import etree

from gateway.pipeline.files import ImportSourceError, import_file, read_header
from gateway.pipeline.outcome import BatchReport, RecordOutcome
from gateway.pipeline.rejects import Origin
from gateway.pipeline.runner import ChunkWriter
from gateway.pipeline.stages import RecordDecoder
from gateway.runtime import Gateway
from gateway.store.profiles import ProfileStore
from gateway.xml.schemas import Validator

ImportReport = BatchReport

__all__ = [
    "ImportReport",
    "ImportSourceError",
    "RecordOutcome",
    "import_batch",
    "import_record",
    "read_sender",
]


def read_sender(gateway: Gateway, path: str | os.PathLike[str]) -> str | None:
    """The ``Sender`` of a batch file's envelope header (read without loading the batch)."""
    return read_header(gateway, path).sender


def import_batch(
    gateway: Gateway,
    path: str | os.PathLike[str],
    *,
    source_system: str | None = None,
    on_record: Callable[[RecordOutcome], None] | None = None,
) -> ImportReport:
    """Store the valid profiles of a CPEX batch file; report every record's outcome."""
    return import_file(
        gateway, path, source_system=source_system, reprocess=True, on_record=on_record
    )


def import_record(
    store: ProfileStore,
    validator: Validator,
    element: etree._Element,
    index: int,
    source_system: str,
    source: str,
    *,
    actor: str = "import",
) -> RecordOutcome:
    """Validate, decode and store one Profile record in its own transaction; every failure is
    a rejected outcome (and a quarantine entry)."""
    decoder = RecordDecoder(
        source_system=source_system,
        actor=actor,
        mapping=None,
        validator=validator,
        profile_validator=validator,
    )
    writer = ChunkWriter(store, Origin(source_system, source, None, None))
    (outcome,) = writer.write([decoder.element(element, index)])
    return outcome
