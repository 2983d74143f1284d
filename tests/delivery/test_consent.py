"""Consent and field policy on the way out, the disclosure audit, and the message id headers."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import select

from gateway.model import Consent, ConsentStatus, Purpose, Recipient
from gateway.privacy import disclosures_of
from gateway.store.tables import audit_log
from tests.delivery.conftest import GIVEN, Hub, person
from tests.delivery.partner_server import PartnerServer

CPEX = "{urn:cpex:profile:1.0}"


def test_default_deny_and_only_allowed_fields_leave(hub: Hub, partner: PartnerServer) -> None:
    allowed = hub.save(person("1", email="ada@example.org"))
    hub.save(person("2", consents=()))  # no consent recorded: nothing for anyone
    hub.save(person("3", consents=(Consent(Purpose.CONTACT, Recipient.SAME,
                                           ConsentStatus.DENIED, GIVEN),)))
    hub.drain(hub.dispatcher())

    rows = hub.deliveries()
    assert [(r["golden_id"], r["partner"], r["status"]) for r in rows] == [
        (allowed, "shop", "delivered")]  # hook: the person gave no consent for tailoring
    assert len(partner.receipts) == 1
    receipt = partner.receipts[0]
    assert receipt.message_id == rows[0]["message_id"]
    assert receipt.headers["X-Message-Id"] == receipt.message_id
    body = etree.fromstring(receipt.body)
    assert body.findtext(".//{urn:cpex:exchange:1.0}MessageId") == receipt.message_id
    profile = body.find(f".//{CPEX}Profile")
    assert profile.findtext(f"{CPEX}Person/{CPEX}GivenName") == "Ada"
    assert profile.find(f"{CPEX}Emails") is None  # contact data: beyond shop's policy
    assert b"ada@example.org" not in receipt.body and b"crm" not in receipt.body
    keys = [(i.get("system"), i.get("key")) for i in profile.iter(f"{CPEX}Identifier")]
    assert keys == [("cpex", allowed)]

    audit = disclosures_of(hub.engine, allowed)
    assert [(d.partner, d.purpose, d.message_id, d.channel) for d in audit] == [
        ("shop", "contact", rows[0]["message_id"], "outbox")]
    assert "emails" not in audit[0].fields and "person.given_name" in audit[0].fields
    assert rows[0]["fields"] == list(audit[0].fields)


def test_webhook_gets_json_with_only_its_fields(hub: Hub, partner: PartnerServer) -> None:
    consents = (Consent(Purpose.TAILORING, Recipient.OURS, ConsentStatus.GRANTED, GIVEN),)
    golden = hub.save(person("7", consents=consents, language="fr"))
    hub.drain(hub.dispatcher())
    [row] = hub.deliveries()
    assert (row["partner"], row["status"], row["purpose"]) == ("hook", "delivered", "tailoring")
    [receipt] = partner.receipts
    import json

    document = json.loads(receipt.body)
    assert document["message_id"] == row["message_id"] == receipt.message_id
    assert document["event"] == "profile"
    assert document["profile"]["person"] == {"language": "fr"}  # the name is not for hook
    assert document["profile"]["emails"][0]["address"] == "7@example.org"
    assert document["profile"]["id"] == golden


def test_consent_revoked_before_sending_withholds(hub: Hub, partner: PartnerServer) -> None:
    golden = hub.save(person("4"))
    dispatcher = hub.dispatcher()
    partner.stop()  # the first attempt fails: the delivery waits for a retry
    dispatcher.run_once()
    assert hub.deliveries()[0]["status"] == "pending"
    revoked = (Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.REVOKED, GIVEN),)
    hub.save(person("4", consents=revoked))
    partner.start()
    hub.drain(dispatcher)
    rows = hub.deliveries()
    assert rows[0]["status"] == "withheld" and "no_consent" in rows[0]["last_error"]
    assert len(rows) == 1  # nothing was disclosed, so there is no one to send an opt-out to
    assert partner.receipts == []
    with hub.engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).where(audit_log.c.golden_id == golden,
                                                                audit_log.c.partner.is_not(None))
                               ).scalars().all()
    assert actions == []
