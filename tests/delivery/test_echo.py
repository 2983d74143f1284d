"""A partner is not sent back the change its own record made; a change from elsewhere to the
same person reaches it (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from gateway.model import Identifier
from gateway.pipeline.outbox import write_changes
from gateway.store.engine import write_transaction
from gateway.store.profiles import ProfileStore
from tests.delivery.conftest import Hub, person
from tests.delivery.partner_server import PartnerServer


def save_from(hub: Hub, system: str, given: str) -> str:
    """Store a source record of ``system`` and its events, as the pipeline does."""
    profile = replace(person("1", given=given), identifiers=(Identifier(system, "1"),))
    store = ProfileStore(hub.engine)
    with write_transaction(hub.engine) as conn:
        result = store.save_in_transaction(conn, profile, source_system=system, raw="<x/>")
        write_changes(conn, result.changes,
                      cause={"source_system": system, "source_key": "1"})
    return result.golden_id


def test_no_echo_to_the_partner_that_sent_the_change(hub: Hub, partner: PartnerServer) -> None:
    golden = save_from(hub, "partner:shop", "Ada")
    hub.drain(hub.dispatcher())
    assert hub.deliveries() == [] and partner.receipts == []  # shop said it itself

    assert save_from(hub, "crm", "Ada Lovelace") == golden  # the CRM adds to the same person
    hub.drain(hub.dispatcher())
    [row] = hub.deliveries()
    assert (row["partner"], row["kind"], row["status"]) == ("shop", "profile", "delivered")
    assert b"Ada" in partner.receipts[0].body
