"""The CRM base: golden profiles, the source records they came from, identifiers, consents and
the audit log, in SQLite (embedded) or PostgreSQL (production), with schema migrations."""

from gateway.store.audit import AuditEntry, AuditLog
from gateway.store.engine import make_engine, write_transaction
from gateway.store.migrate import current_revision, ensure_up_to_date, head_revision, upgrade
from gateway.store.profiles import ProfileStore, SaveOutcome, SaveResult

__all__ = [
    "AuditEntry",
    "AuditLog",
    "ProfileStore",
    "SaveOutcome",
    "SaveResult",
    "current_revision",
    "ensure_up_to_date",
    "head_revision",
    "make_engine",
    "upgrade",
    "write_transaction",
]
