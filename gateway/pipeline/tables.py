"""The pipeline's tables (migration 0005), on the CRM base's one ``metadata``.

Kept beside the code that writes them rather than in :mod:`gateway.store.tables` (another
engineer's file in this round); importing this module registers them on the shared metadata.
Everything that compares the metadata with the database imports it (``tests/store/
test_migrate.py``); the lead may move these definitions into ``gateway/store/tables.py``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from gateway.store.coltypes import JSONDocument, UTCDateTime
from gateway.store.tables import HASH_LENGTH, KEY_LENGTH, SYSTEM_LENGTH, RowId, metadata

# One row per change of a golden profile, written in the transaction that made the change. The
# dispatcher (partner exchange issue) claims rows with ``SELECT ... FOR UPDATE SKIP LOCKED``
# where ``dispatched_at IS NULL AND available_at <= now``, and backs off through available_at.
outbox_event = Table(
    "outbox_event",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("golden_id", String(40), nullable=False),  # no foreign key: the event outlives merges
    Column("kind", String(16), nullable=False),  # created | updated | merged | unmerged
    Column("version", Integer, nullable=False),  # the golden version the event announces
    Column("payload", JSONDocument, nullable=False),  # fields, absorbed id, cause; no values
    Column("created_at", UTCDateTime, nullable=False),
    Column("available_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("locked_by", String(200)),
    Column("locked_until", UTCDateTime),
    Column("dispatched_at", UTCDateTime),
    Column("last_error", Text),
    Index(None, "dispatched_at", "available_at"),
    Index(None, "golden_id"),
)

# A record that failed a stage, with what is needed to run it again: the raw record as
# received, its format, the mapping it went through and the stage that refused it.
quarantine_record = Table(
    "quarantine_record",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),  # open | retried | discarded
    Column("source_system", String(SYSTEM_LENGTH), nullable=False),
    Column("source", String(KEY_LENGTH), nullable=False),  # file name or message id
    Column("message_id", String(200)),
    Column("record_index", Integer),  # 1-based position in its batch
    Column("line", Integer),
    Column("format", String(16), nullable=False),  # xml | json
    Column("mapping", String(100)),  # the mapping it went through (None: canonical JSON)
    Column("stage", String(16), nullable=False),  # parse | validate | map | store
    Column("code", String(64), nullable=False),  # GatewayError.code of the refusal
    Column("errors", JSONDocument, nullable=False),  # [ValidationIssue.to_dict()]
    Column("raw", Text, nullable=False),
    Column("raw_hash", String(HASH_LENGTH), nullable=False),  # a re-sent record is not added twice
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(100)),
    Column("golden_id", String(40)),  # set by a successful retry
    Index(None, "status", "id"),
    Index(None, "source_system", "raw_hash"),
)

# A batch by its message id: the acknowledgement stored once it is done, so a re-sent batch
# gets the same answer and changes nothing; "processing" marks a batch that was cut off (a
# crash), which a re-send completes.
inbound_message = Table(
    "inbound_message",
    metadata,
    # Message ids are the sender's: two senders may use the same one.
    Column("source_system", String(SYSTEM_LENGTH), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("status", String(16), nullable=False),  # messages.MessageStatus
    Column("received_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("records", Integer),
    Column("acknowledgement", JSONDocument),
)
