"""The audit log: entries join the caller's transaction, and read back in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from gateway.store import audit
from gateway.store.audit import AuditLog
from gateway.store.engine import write_transaction


def test_an_entry_is_rolled_back_with_the_callers_transaction(migrated_engine: Engine) -> None:
    with pytest.raises(RuntimeError), write_transaction(migrated_engine) as conn:
        audit.record(conn, actor="api", action="golden.read", golden_id="gp_1")
        raise RuntimeError("the caller's work failed")
    assert AuditLog(migrated_engine).list() == []


def test_a_disclosure_entry_reads_back_whole(migrated_engine: Engine) -> None:
    log = AuditLog(migrated_engine)
    at = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    entry_id = log.record(
        actor="dispatcher",
        action="disclosure",
        golden_id="gp_1",
        partner="acme",
        purpose="contact",
        fields=["emails", "person.given_name"],
        message_id="msg-42",
        detail={"channel": "rest"},
        at=at,
    )
    (entry,) = log.list(golden_id="gp_1")
    assert entry.id == entry_id
    assert (entry.at, entry.actor, entry.action, entry.partner, entry.purpose) == (
        at,
        "dispatcher",
        "disclosure",
        "acme",
        "contact",
    )
    assert entry.fields == ("emails", "person.given_name")
    assert (entry.message_id, entry.detail) == ("msg-42", {"channel": "rest"})


def test_entries_list_oldest_first_filtered_and_paged(migrated_engine: Engine) -> None:
    log = AuditLog(migrated_engine)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n in (2, 0, 1):
        log.record(actor="t", action=f"a{n}", golden_id="gp_1", at=start + timedelta(minutes=n))
    log.record(actor="t", action="other", golden_id="gp_2", at=start)

    assert [e.action for e in log.list(golden_id="gp_1")] == ["a0", "a1", "a2"]
    assert [e.action for e in log.list(golden_id="gp_1", limit=1, offset=1)] == ["a1"]
    assert len(log.list()) == 4
    assert log.list()[0].fields is None
