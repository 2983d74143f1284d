"""The importer's original entry points, kept for their callers, now run by the pipeline.

:func:`import_batch` (the demo, the file-drop job) imports a whole file as
:func:`gateway.pipeline.files.import_file` with ``reprocess``: these callers keep their own
ledger of files, so the message-id ledger is left out and every record is seen (each is
``unchanged`` when its content is). Partner messages (SubmitProfiles, REST upsert) run through
:class:`gateway.pipeline.runner.Pipeline` directly (gateway/exchange/service.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from gateway.pipeline.files import ImportSourceError, import_file, read_header
from gateway.pipeline.outcome import BatchReport, RecordOutcome
from gateway.runtime import Gateway

ImportReport = BatchReport

__all__ = [
    "ImportReport",
    "ImportSourceError",
    "RecordOutcome",
    "import_batch",
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

