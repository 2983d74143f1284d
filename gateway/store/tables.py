"""The CRM base tables, as SQLAlchemy Core tables.

Core rather than ORM classes: the domain object is the frozen :class:`gateway.model.Profile`,
stored as a JSON document beside a few indexed columns, so mapped classes would be a second,
mutable model of the same thing; and the write paths (this store, bulk ERP refresh, the outbox)
are plain statements where Core is measured 10x faster than ORM ``add_all``.

These definitions describe the schema at the newest migration. The schema itself is only ever
created by the migrations in ``gateway/store/migrations`` (a test checks both agree); never call
``metadata.create_all`` outside tests.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from gateway.store.coltypes import JSONDocument, UTCDateTime

# Deterministic constraint names, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the auto-incrementing rowid.
RowId = BigInteger().with_variant(Integer(), "sqlite")

SYSTEM_LENGTH = 64
KEY_LENGTH = 255
HASH_LENGTH = 64  # sha256, hex

golden_profile = Table(
    "golden_profile",
    metadata,
    Column("id", String(40), primary_key=True),  # gp_ + time-ordered hex
    Column("version", Integer, nullable=False),  # bumped on every change: ETag, locking
    Column("display_name", String(200)),
    Column("document", JSONDocument, nullable=False),  # to_dict(Profile), id left out
    Column("content_hash", String(HASH_LENGTH), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("erased", Boolean, nullable=False, server_default=false()),
    # Field path -> [source_system, source_key] of the source record the value came from.
    Column("lineage", JSONDocument),
)

source_record = Table(
    "source_record",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("golden_id", String(40), ForeignKey("golden_profile.id"), nullable=False, index=True),
    Column("source_system", String(SYSTEM_LENGTH), nullable=False),
    Column("source_key", String(KEY_LENGTH), nullable=False),
    Column("raw", Text, nullable=False),  # the payload as received
    Column("content_hash", String(HASH_LENGTH), nullable=False),  # of the mapped profile
    Column("received_at", UTCDateTime, nullable=False),
    # The mapped profile (to_dict), what survivorship reads; NULL only for records stored before
    # migration 0003, which filled it from their golden profile.
    Column("document", JSONDocument),
    UniqueConstraint("source_system", "source_key"),
)

identifier = Table(
    "identifier",
    metadata,
    Column("system", String(SYSTEM_LENGTH), primary_key=True),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("golden_id", String(40), ForeignKey("golden_profile.id"), nullable=False, index=True),
)

consent = Table(
    "consent",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("golden_id", String(40), ForeignKey("golden_profile.id"), nullable=False, index=True),
    Column("purpose", String(32), nullable=False),
    Column("recipient", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("given_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("source", String(200)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("golden_id", String(40)),  # no foreign key: the log outlives the profile
    Column("partner", String(100)),
    Column("purpose", String(32)),
    Column("fields", JSONDocument),
    Column("message_id", String(200)),
    Column("detail", JSONDocument, nullable=False),
    Index(None, "golden_id", "at"),
)

api_credential = Table(
    "api_credential",
    metadata,
    Column("key_id", String(24), primary_key=True),  # the public part of the key
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),  # admin | partner | monitor
    Column("partner_id", String(64)),
    Column("secret_hash", String(HASH_LENGTH), nullable=False),  # sha256 of the whole key
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("expires_at", UTCDateTime),  # (0008) refused from then on; NULL: until revoked
)

mapping_version = Table(
    "mapping_version",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("author", String(100), nullable=False),  # who saved it; "file" for an edit on disk
    Column("created_at", UTCDateTime, nullable=False),
    Column("comment", Text),
    Column("text", Text, nullable=False),  # the whole file as saved
    Column("content_hash", String(HASH_LENGTH), nullable=False),
    Column("diff", Text, nullable=False),  # unified diff against the previous version
    UniqueConstraint("name", "version"),
)


# --- identity resolution (migration 0003) ----------------------------------------------------

match_key = Table(
    "match_key",
    metadata,
    # ``kind:value`` (gateway.identity.blocking): normalised e-mail, E.164 phone, blocking keys.
    Column("key", String(KEY_LENGTH), primary_key=True),
    # Derived data of the record: goes with it (an erasure deletes source records).
    Column(
        "source_record_id",
        RowId,
        ForeignKey("source_record.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("golden_id", String(40), ForeignKey("golden_profile.id"), nullable=False, index=True),
    # Covers the block query (key IN (...) -> golden_id) without touching the table.
    Index(None, "key", "golden_id"),
    Index(None, "source_record_id"),
)

golden_alias = Table(
    "golden_alias",
    metadata,
    Column("alias_id", String(40), primary_key=True),  # a golden id merged away
    Column("golden_id", String(40), ForeignKey("golden_profile.id"), nullable=False, index=True),
    Column("merged_at", UTCDateTime, nullable=False),
)

review_item = Table(
    "review_item",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),  # open | approved | rejected | superseded
    # No foreign keys: golden ids are rewritten on merges, and the item outlives them.
    Column("golden_id", String(40), nullable=False, index=True),  # the record's golden profile
    Column("candidate_id", String(40), nullable=False, index=True),
    Column("source_record_id", RowId),  # the record whose arrival proposed the pair
    Column("score", Float),
    Column("details", JSONDocument, nullable=False),  # reason, total, components
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(100)),
    Index(None, "status", "id"),
)

match_rejection = Table(
    "match_rejection",
    metadata,
    # A pair kept apart by a person, lower id first; never proposed for review again.
    Column("golden_low", String(40), primary_key=True),
    Column("golden_high", String(40), primary_key=True, index=True),
    Column("rejected_at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("review_item_id", RowId),
)


# --- ERP snapshot (0004) ----------------------------------------------------------------------
# What CRM users need from the ERP, one row per ERP customer, refreshed by scheduled extraction
# so that no CRM read ever queries the ERP. Linked to golden profiles through ``identifier``
# (system = source_system, key = customer_key), not by a copied golden id that could go stale.

MONEY = Numeric(18, 2)

erp_customer = Table(
    "erp_customer",
    metadata,
    Column("source_system", String(SYSTEM_LENGTH), primary_key=True),
    Column("customer_key", String(KEY_LENGTH), primary_key=True),
    Column("credit_status", String(16), nullable=False),
    Column("balance", MONEY),
    Column("currency", String(3)),
    Column("open_invoices", Integer),
    Column("order_count", Integer),
    Column("lifetime_value", MONEY),
    Column("last_order_date", Date),
    Column("extracted_at", UTCDateTime, nullable=False),  # the extraction these figures are from
    Column("deleted_at", UTCDateTime),  # set by key reconciliation when the ERP row is gone
    Column("changed_at", UTCDateTime),  # (0010) the extraction that last changed the figures
    Column("checksum", String(200)),  # (0010) of the child rows followed by checksums
    Column("master_hash", String(64)),  # (0010) of the master data last fed to the pipeline
)

# (0010) The last successful refresh of each ERP that covered every customer: the time its
# figures are confirmed as of (freshness), even when nothing changed.
erp_source = Table(
    "erp_source",
    metadata,
    Column("source_system", String(SYSTEM_LENGTH), primary_key=True),
    Column("confirmed_at", UTCDateTime, nullable=False),  # start of that refresh
    Column("confirmed_by", String(16), nullable=False),  # full | incremental
    Column("updated_at", UTCDateTime, nullable=False),
)

# The cursor of each extraction stream, written in the same transaction as the rows it covers.
erp_watermark = Table(
    "erp_watermark",
    metadata,
    Column("source_system", String(SYSTEM_LENGTH), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("cursor_modified", String(64), nullable=False),  # typed text: see gateway.erp.snapshot
    Column("cursor_key", String(KEY_LENGTH), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- scheduled jobs (0004) --------------------------------------------------------------------

# One row per configured job: paused flag and the lease that makes each slot run once.
job_state = Table(
    "job_state",
    metadata,
    Column("job", String(100), primary_key=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("last_slot", UTCDateTime),  # the newest scheduled time claimed by any process
    Column("lease_owner", String(200)),
    Column("lease_until", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Run history. (job, slot, attempt) is unique: a second claim of the same slot cannot insert.
job_run = Table(
    "job_run",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("job", String(100), nullable=False),
    Column("slot", UTCDateTime),  # scheduled time; NULL for a run asked for by hand
    Column("attempt", Integer, nullable=False),
    Column("trigger", String(16), nullable=False),  # schedule | manual | retry
    # queued | running | succeeded | failed | skipped | abandoned
    Column("status", String(16), nullable=False),
    Column("runner", String(200)),  # host:pid of the process that ran it
    Column("queued_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("rows_written", Integer, nullable=False, server_default="0"),
    Column("rows_rejected", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("rows_skipped", Integer, nullable=False, server_default="0"),  # (0010) unchanged
    Column("rows_deleted", Integer, nullable=False, server_default="0"),  # (0010) marked deleted
    Column("rows_by_table", Text),  # (0010) JSON {table: rows read}
    UniqueConstraint("job", "slot", "attempt"),
    Index(None, "job", "id"),
    Index(None, "status"),
)

# Files taken from a drop inbox. (inbox, name, content_hash) is unique: never processed twice.
dropped_file = Table(
    "dropped_file",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("inbox", String(100), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_hash", String(HASH_LENGTH), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # processing | archived | failed
    Column("received_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("records", Integer),
    Column("rejected", Integer),
    Column("moved_to", Text),
    UniqueConstraint("inbox", "name", "content_hash"),
)


# --- outbound delivery (0006) -----------------------------------------------------------------
# One row per (outbox event, entitled partner), or per notice (opt-out, erase) or replay. Holds
# no personal data: ids, field names, message ids and error summaries only; the payload is built
# from the profile as it is when it is sent (and withheld if consent is gone by then).
delivery = Table(
    "delivery",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("event_id", RowId),  # the outbox event it came from; NULL for a replay
    Column("replay_of", RowId),  # the delivery a replay repeats
    Column("golden_id", String(40), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # profile | optout | erase
    Column("purpose", String(32)),  # the purpose the disclosure is made for (profile kind)
    Column("message_id", String(200), nullable=False),  # the idempotency key the partner sees
    Column("status", String(16), nullable=False),  # pending | delivered | dead | withheld
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("available_at", UTCDateTime, nullable=False),  # next attempt not before
    Column("locked_by", String(200)),  # the dispatcher sending (or that sent) it
    Column("locked_until", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("fields", JSONDocument),  # field paths sent (profile kind), set when delivered
    Column("last_error", Text),
    UniqueConstraint("message_id"),
    UniqueConstraint("event_id", "partner"),
    Index(None, "status", "available_at"),
    Index(None, "golden_id", "partner", "id"),
    Index(None, "partner", "status"),
)

# --- partner rate limits (0007) ---------------------------------------------------------------
# Request counts per partner and fixed time window, shared by every web process on one database
# (gateway/exchange/ratelimit.py). Only the current and the previous window of a partner are kept.
rate_window = Table(
    "rate_window",
    metadata,
    Column("scope", String(SYSTEM_LENGTH), primary_key=True),  # the partner id
    Column("window_no", BigInteger, primary_key=True),  # epoch seconds // window length
    Column("hits", Integer, nullable=False),
)

# --- admin console (0009) ---------------------------------------------------------------------
# A signed-in console user: the cookie holds a random token, the table its SHA-256 (a stolen
# database does not sign anyone in). The session ends at sign-out, after the idle timeout, or
# when its key is revoked or expires (checked on every request).
console_session = Table(
    "console_session",
    metadata,
    Column("token_hash", String(HASH_LENGTH), primary_key=True),
    Column("key_id", String(24), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),  # sent back by every state-changing form
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

# A steward working on a review item: others see it claimed until ``claimed_until``, so two
# stewards do not decide the same pair. Claims are advisory to the REST API (a script decides
# whatever it is told); the console refuses to decide an item someone else holds.
review_claim = Table(
    "review_claim",
    metadata,
    Column("review_item_id", RowId, primary_key=True),
    Column("actor", String(100), nullable=False),
    Column("claimed_until", UTCDateTime, nullable=False),
)

# --- erasure requests (0011) ------------------------------------------------------------------
# A partner's erase removes only what it contributed; the rest of the person is a request for a
# steward (gateway.delivery.erasure_requests). No personal data: ids, the partner, the message.
erasure_request = Table(
    "erasure_request",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("golden_id", String(40), nullable=False, index=True),  # no FK: outlives a merge
    Column("partner", String(64), nullable=False),  # who asked
    Column("message_id", String(200)),  # the erase message that asked
    Column("status", String(16), nullable=False),  # open | approved | rejected
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(100)),
    Index(None, "status", "id"),
)

# --- match model versions (0012) ---------------------------------------------------------------
# Parameters learnt by ``cpex-gateway identity train``; the newest version is the one matching
# uses (gateway/store/match_models.py). The shipped defaults (config/identity.toml) are no row.
match_model = Table(
    "match_model",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("records", Integer, nullable=False),  # source records learnt from
    Column("figures", JSONDocument, nullable=False),  # pairs, iterations, convergence
    Column("parameters", JSONDocument, nullable=False),  # prior, m and u per level
    Column("term_frequencies", JSONDocument, nullable=False),
)
