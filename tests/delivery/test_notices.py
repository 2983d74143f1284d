"""Revocation and erasure reach the partners that received the person's data, through the
outbox; the right of access export shows everything held, disclosures included."""

from __future__ import annotations

from lxml import etree

from gateway.delivery.notices import write_revocation_event
from gateway.model import Consent, ConsentStatus, Purpose, Recipient
from gateway.store.engine import write_transaction
from tests.delivery.conftest import GIVEN, Hub, person
from tests.delivery.partner_server import PartnerServer
from tests.web.conftest import Api

EX = "{urn:cpex:exchange:1.0}"
CPEX = "{urn:cpex:profile:1.0}"
REVOKED = (Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.REVOKED, GIVEN),)


def test_revocation_sends_one_optout_to_the_partners_that_received_data(
    hub: Hub, partner: PartnerServer
) -> None:
    told = hub.save(person("1"))
    never = hub.save(person("2", consents=()))
    dispatcher = hub.dispatcher()
    hub.drain(dispatcher)
    hub.save(person("1", consents=REVOKED))  # the pipeline's "updated" event
    hub.save(person("2", given="Bea", consents=REVOKED))  # never received anything: no notice
    with write_transaction(hub.engine) as conn:  # an explicit revocation event says it again
        write_revocation_event(conn, told, purposes=("contact",))
    hub.drain(dispatcher)

    kinds = [(r["golden_id"], r["partner"], r["kind"], r["status"]) for r in hub.deliveries()]
    assert kinds == [(told, "shop", "profile", "delivered"), (told, "shop", "optout", "delivered")]
    assert never not in {k[0] for k in kinds}
    notice = etree.fromstring(partner.receipts[-1].body)
    assert notice.findtext(f"{EX}Header/{EX}Operation") == "upsert"
    profile = notice.find(f".//{CPEX}Profile")
    assert profile.findtext(f"{CPEX}Consents/{CPEX}Consent/{CPEX}Status") == "revoked"
    assert profile.find(f"{CPEX}Person/{CPEX}GivenName") is None  # a notice carries no data
    assert profile.find(f"{CPEX}Identifiers/{CPEX}Identifier").get("key") == told


def test_erasure_endpoint_sends_erase_and_export_shows_everything(
    hub: Hub, partner: PartnerServer, api: Api
) -> None:
    golden = hub.save(person("9"))
    dispatcher = hub.dispatcher()
    hub.drain(dispatcher)
    admin = api.headers("admin")

    export = api.client.get(f"/api/v1/profiles/{golden}/export", headers=admin).json
    assert export["profile"]["person"]["given_name"] == "Ada" and export["erased"] is False
    assert [r["source_system"] for r in export["source_records"]] == ["crm"]
    assert [c["purpose"] for c in export["consents"]] == ["contact"]
    assert [d["partner"] for d in export["disclosures"]] == ["shop"]
    assert [d["status"] for d in export["deliveries"]] == ["delivered"]
    assert "<cpex:GivenName>Ada</cpex:GivenName>" in export["cpex"]

    hub.save(person("9", given="Later"))  # queued, not yet sent when the person is erased
    partner.stop()
    dispatcher.run_once()  # its delivery exists and waits for a retry
    partner.start()
    answer = api.client.delete(f"/api/v1/profiles/{golden}", headers=admin)
    assert answer.status_code == 200 and answer.json["already_erased"] is False
    again = api.client.delete(f"/api/v1/profiles/{golden}", headers=admin)
    assert again.json["already_erased"] is True
    hub.drain(dispatcher)

    rows = [(r["kind"], r["status"]) for r in hub.deliveries()]
    assert rows == [("profile", "delivered"), ("profile", "withheld"), ("erase", "delivered")]
    erase = etree.fromstring(partner.receipts[-1].body)
    assert erase.findtext(f"{EX}Header/{EX}Operation") == "erase"
    assert erase.find(f".//{EX}ProfileRef/{EX}Identifier").get("key") == golden
    assert b"Later" not in b"".join(r.body for r in partner.receipts)

    after = api.client.get(f"/api/v1/profiles/{golden}/export", headers=admin).json
    assert after["erased"] is True and after["profile"] is None and after["source_records"] == []
    assert [d["partner"] for d in after["disclosures"]] == ["shop"]  # the audit facts remain
    assert "Ada" not in str(after)
    missing = api.client.delete("/api/v1/profiles/gp_nope", headers=admin)
    assert missing.status_code == 404
