"""Signed deliveries: a partner with a signing secret gets an HMAC of each body it can verify;
a changed body, another secret or an old timestamp fail verification."""

from __future__ import annotations

import time

import pytest

from gateway.delivery.signing import SIGNATURE_HEADER, SignatureError, sign, verify
from gateway.model import Consent, ConsentStatus, Purpose, Recipient
from tests.delivery.conftest import GIVEN, Hub, fast_settings, person
from tests.delivery.partner_server import PartnerServer

SECRET = "shop-shared-secret-0f3c"


def test_a_signed_body_verifies_and_anything_else_does_not() -> None:
    body, at = b"<Envelope>...</Envelope>", 1_800_000_000
    header = sign(SECRET, body, at)
    assert verify(SECRET, body, header, now=at + 10) == at
    for secret, data, when in ((SECRET, body + b" ", at), ("other-secret", body, at),
                               (SECRET, body, at + 301), (SECRET, body, at - 301)):
        with pytest.raises(SignatureError):
            verify(secret, data, header, now=when)
    for broken in (None, "", "v1=abc", f"t=x,v1={header.split('v1=')[1]}", f"t={at}"):
        with pytest.raises(SignatureError):
            verify(SECRET, body, broken, now=at)
    # a receiver rotating secrets may be sent two v1 values; either may match
    rotated = f"{sign('old-secret', body, at)},v1={header.split('v1=')[1]}"
    assert verify(SECRET, body, rotated, now=at) == at


def test_rest_and_webhook_deliveries_carry_a_signature_the_partner_verifies(
        hub: Hub, partner: PartnerServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SIGNING", SECRET)
    hub.settings = fast_settings(partners={"hook": {"signing_secret_env": "TEST_HOOK_SIGNING"}})
    both = (Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.GRANTED, GIVEN),
            Consent(Purpose.TAILORING, Recipient.OURS, ConsentStatus.GRANTED, GIVEN))
    hub.save(person("1", given="Ada", consents=both, language="en"))
    hub.drain(hub.dispatcher())
    received = {r.headers["Content-Type"].split(";")[0]: r for r in partner.receipts}
    hook, shop = received["application/json"], received["application/xml"]
    assert SIGNATURE_HEADER not in shop.headers  # no secret configured for the shop
    header = hook.headers[SIGNATURE_HEADER]
    assert abs(verify(SECRET, hook.body, header, now=time.time()) - time.time()) < 60
    with pytest.raises(SignatureError):  # the partner can tell a changed body
        verify(SECRET, hook.body.replace(b"en", b"fr"), header, now=time.time())


def test_a_missing_secret_is_a_clear_error_and_nothing_is_sent(
        hub: Hub, partner: PartnerServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_SHOP_SIGNING_UNSET", raising=False)
    hub.settings = fast_settings(
        partners={"shop": {"signing_secret_env": "TEST_SHOP_SIGNING_UNSET"}})
    hub.save(person("1"))
    dispatcher = hub.dispatcher()
    for _ in range(3):
        dispatcher.run_once()
    shop_rows = [r for r in hub.deliveries() if r["partner"] == "shop"]
    assert shop_rows and all(r["status"] != "delivered" for r in shop_rows)
    assert all("TEST_SHOP_SIGNING_UNSET" in str(r["last_error"]) for r in shop_rows)
    assert partner.receipts == []  # never sent unsigned
