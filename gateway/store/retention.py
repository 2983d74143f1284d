"""How long operational rows are kept: the ``retention_purge`` job deletes what has served its
purpose, so the tables that grow with traffic stay bounded and no personal data outstays it.

What goes, each after its own number of days (``jobs.toml`` args, defaults below):

- ``outbox``: profile-change events already fanned out to partners (they name golden ids);
- ``deliveries``: profile deliveries that ended delivered or withheld (dead ones stay until
  someone replays or inspects them; opt-out and erase notices stay, as the record that a partner
  was told, so it is not told twice; the disclosure audit keeps its own retention);
- ``inbound_messages``: acknowledgements kept for idempotency. A batch re-sent after this many
  days is processed again, and its records come out ``unchanged`` (content hashes per source);
- ``job_runs``: run history of scheduled jobs;
- ``quarantine_decided``: refused records that were retried successfully or discarded (their raw
  records hold personal data; open ones stay until someone decides).

Not purged: dropped-file records (they stop a file from being processed twice), review decisions
(a rejected pair must not be proposed again), golden profiles and source records (erasure is the
way those go), the audit log (``audit_purge``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Engine, Table, delete
from sqlalchemy.exc import SQLAlchemyError

from gateway.pipeline.tables import inbound_message, outbox_event, quarantine_record
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import delivery, job_run


class RetentionDays(BaseModel):
    """Whole days each kind is kept (a pydantic model: ``jobs.toml`` args are checked at start,
    an unknown kind or a value under 1 named by its key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outbox: int = Field(30, ge=1)
    deliveries: int = Field(90, ge=1)
    inbound_messages: int = Field(30, ge=1)
    job_runs: int = Field(90, ge=1)
    quarantine_decided: int = Field(30, ge=1)


def purge_expired(engine: Engine, days: RetentionDays, now: datetime) -> dict[str, int]:
    """Delete the expired rows of each kind, one transaction per kind; rows deleted per kind.

    :raises StoreError: naming the kind whose delete failed (earlier kinds stay purged).
    """
    def before(n: int) -> datetime:
        return now - timedelta(days=n)

    rules: dict[str, tuple[Table, ColumnElement[bool]]] = {
        "outbox": (outbox_event, outbox_event.c.dispatched_at < before(days.outbox)),
        "deliveries": (delivery, (delivery.c.kind == "profile")
                       & delivery.c.status.in_(("delivered", "withheld"))
                       & (delivery.c.finished_at < before(days.deliveries))),
        "inbound_messages": (inbound_message, (inbound_message.c.status == "done")
                             & (inbound_message.c.finished_at < before(days.inbound_messages))),
        "job_runs": (job_run, job_run.c.finished_at < before(days.job_runs)),
        "quarantine_decided": (
            quarantine_record, quarantine_record.c.status.in_(("retried", "discarded"))
            & (quarantine_record.c.decided_at < before(days.quarantine_decided))),
    }
    deleted: dict[str, int] = {}
    for name, (table, expired) in rules.items():
        try:
            with write_transaction(engine) as conn:
                deleted[name] = int(conn.execute(delete(table).where(expired)).rowcount)
        except SQLAlchemyError as exc:
            raise store_error(f"purging expired {name} rows", exc) from exc
    return deleted
