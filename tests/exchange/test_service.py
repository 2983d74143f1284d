"""The exchange service without HTTP: erasure, entitlement, identifier/phone queries, audit rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from gateway.errors import PermissionDeniedError
from gateway.exchange import ExchangeService, Request
from gateway.exchange.errors import BadRequestError
from gateway.exchange.finder import find_profiles
from gateway.model import Consent, Identifier, Phone, Profile, to_dict
from gateway.model.envelope import Erase, ProfileRef, Query, envelope_from_element
from gateway.partners.registry import PartnerRegistry
from gateway.pipeline.rejects import raw_hash
from gateway.pipeline.runner import Batch, Pipeline
from gateway.pipeline.tables import outbox_event, quarantine_record
from gateway.privacy import disclosures_of
from gateway.runtime import Gateway
from gateway.store.audit import AuditLog
from gateway.store.profiles import ProfileStore
from gateway.store.tables import consent, identifier, source_record
from tests.web.conftest import Api, api  # noqa: F401  (fixture)
from tests.web.exchange_fixtures import consent as granted
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    envelope,
    partner_files_fixture,
    person,
    registry_fixture,
    upsert,
)


@pytest.fixture
def gateway(api: Api) -> Gateway:  # noqa: F811  (the api fixture)
    return api.gateway


def call(gateway: Gateway, body: bytes, partner: str, registry: PartnerRegistry,
         channel: str = "test") -> object:
    service = ExchangeService(gateway)
    root = service.parse_request(body)
    answer = service.handle(root, Request(registry.require(partner), channel=channel))
    return envelope_from_element(answer)


def store(gateway: Gateway, registry: PartnerRegistry, *profiles: object) -> list[str]:
    answer = call(gateway, upsert(*profiles), "acme", registry)  # type: ignore[arg-type]
    return [str(r.profile_id) for r in answer.body.results]  # type: ignore[attr-defined]


def count(gateway: Gateway, table: object, golden_id: str) -> int:
    with gateway.engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(table).where(table.c.golden_id == golden_id)  # type: ignore[attr-defined]
        ).scalar_one())


def test_erase_removes_personal_data_and_keeps_the_audit_fact(
    gateway: Gateway, registry: PartnerRegistry
) -> None:
    """A person known only through acme: acme's erase erases them whole."""
    (golden_id,) = store(gateway, registry, person("e1", granted()))
    by_key = ProfileRef(identifier=Identifier("partner:acme", "e1"))
    answer = call(gateway, envelope(Erase((by_key,))), "acme", registry)
    (result,) = answer.body.results  # type: ignore[attr-defined]
    assert (result.status, result.profile_id) == ("erased", golden_id)
    for table in (source_record, identifier, consent):
        assert count(gateway, table, golden_id) == 0
    erased = ProfileStore(gateway.engine).get(golden_id)
    assert erased.person is None and erased.emails == () and erased.identifiers == ()
    entries = AuditLog(gateway.engine).list(golden_id=golden_id)
    erase_rows = [e for e in entries if e.action == "golden.erase"]
    assert len(erase_rows) == 1 and erase_rows[0].actor == "partner:acme"
    assert erase_rows[0].detail["requested_by"] == "acme"
    assert all("source_key" not in e.detail for e in entries)  # keys scrubbed from the log
    again = call(gateway, envelope(Erase((ProfileRef(profile_id=golden_id),))), "acme", registry)
    assert again.body.results[0].status == "erased"  # type: ignore[attr-defined]
    assert len([e for e in AuditLog(gateway.engine).list(golden_id=golden_id)
                if e.action == "golden.erase"]) == 1
    gone = call(gateway, envelope(Query(profile_id=golden_id)), "acme", registry)
    assert gone.body.profiles == ()  # type: ignore[attr-defined]
    with gateway.engine.connect() as conn:  # one erase notice, through the outbox
        notices = conn.execute(
            select(outbox_event.c.kind, outbox_event.c.payload)
            .where(outbox_event.c.golden_id == golden_id, outbox_event.c.kind == "erased")
        ).all()
    assert [(kind, payload) for kind, payload in notices] == [
        ("erased", {"requested_by": "acme"})
    ]


@pytest.fixture
def load_erp(gateway: Gateway) -> Callable[[Profile], str]:
    """Store a record of the ERP (a source the gateway trusts for consents) by the pipeline."""

    def load(profile: Profile) -> str:
        report = Pipeline(gateway, Batch("erp", "erp extract")).run_documents([to_dict(profile)])
        return str(report.acknowledgement()["results"][0]["id"])

    return load


def test_erase_needs_a_record_of_the_partner(
    gateway: Gateway, registry: PartnerRegistry, load_erp: Callable[[Profile], str]
) -> None:
    golden_id = load_erp(dataclasses.replace(
        person("f1"), identifiers=(Identifier("erp", "E-f1"),)))
    answer = call(gateway, envelope(Erase((ProfileRef(profile_id=golden_id),))), "acme", registry)
    (result,) = answer.body.results  # type: ignore[attr-defined]
    assert result.status == "not-found" and result.errors[0].code == "not_found"
    assert ProfileStore(gateway.engine).get(golden_id).person is not None


def test_sender_must_be_the_partner(gateway: Gateway, registry: PartnerRegistry) -> None:
    with pytest.raises(PermissionDeniedError, match="Sender 'partner:acme'"):
        call(gateway, envelope(Query(profile_id="x")), "globex", registry)


def test_query_by_phone_and_email_records_each_disclosure(
    gateway: Gateway, registry: PartnerRegistry, load_erp: Callable[[Profile], str]
) -> None:
    def from_erp(key: str, *consents: Consent, phone: str | None = None) -> str:
        return load_erp(dataclasses.replace(
            person(key, *consents), identifiers=(Identifier("erp", f"E-{key}"),),
            phones=(Phone(phone),) if phone else (),
        ))

    golden_id = from_erp("p1", granted(), phone="+447700900123")
    from_erp("p2", granted())
    by_phone = call(gateway, envelope(Query(phone="+447700900123")), "acme", registry)
    assert [p.id for p in by_phone.body.profiles] == [golden_id]  # type: ignore[attr-defined]
    by_email = call(gateway, envelope(Query(email="p1@example.org")), "acme", registry,
                    channel="rest")
    shown = by_email.body.profiles[0]  # type: ignore[attr-defined]
    assert shown.phones == (Phone("+447700900123"),)  # contact category: phones yes...
    assert Identifier("erp", "E-p1") not in shown.identifiers  # ...but never erp's keys
    by_key = call(gateway, envelope(Query(identifier=Identifier("erp", "E-p1"))), "acme",
                  registry)
    assert by_key.body.profiles == ()  # type: ignore[attr-defined]  # found by what it may see
    records = disclosures_of(gateway.engine, golden_id)
    assert [r.channel for r in records] == ["test", "rest"]
    assert records[1].message_id == by_email.header.message_id  # type: ignore[attr-defined]


def test_partner_erasure_deletes_the_persons_quarantined_records(
    gateway: Gateway, registry: PartnerRegistry
) -> None:
    (golden_id,) = store(gateway, registry, person("q1", granted()))
    now = datetime.now(UTC)

    def quarantined(raw: str) -> dict[str, object]:
        return {"status": "open", "source_system": "partner:acme", "source": "message m",
                "format": "xml", "stage": "validate", "code": "schema_invalid", "errors": [],
                "raw": raw, "raw_hash": raw_hash(raw), "created_at": now}

    with gateway.engine.begin() as conn:  # a refused re-send of the person, and someone else's
        conn.execute(insert(quarantine_record), [
            quarantined('<Profile><Email>q1@example.org</Email><Country>X</Country></Profile>'),
            quarantined('<Profile><Email>zz@example.org</Email><Country>X</Country></Profile>'),
        ])
    answer = call(gateway, envelope(Erase((ProfileRef(profile_id=golden_id),))), "acme", registry)
    assert answer.body.results[0].status == "erased"  # type: ignore[attr-defined]
    with gateway.engine.connect() as conn:
        left = conn.execute(select(quarantine_record.c.raw)).scalars().all()
    assert left == ['<Profile><Email>zz@example.org</Email><Country>X</Country></Profile>']
    (erasure,) = [e for e in AuditLog(gateway.engine).list(golden_id=golden_id)
                  if e.action == "golden.erase"]
    assert erasure.detail["quarantine_records"] == 1


def test_a_query_without_criteria_never_reaches_the_database_as_find_all(
    gateway: Gateway, registry: PartnerRegistry
) -> None:
    store(gateway, registry, person("n1", granted()))
    with gateway.engine.connect() as conn, pytest.raises(BadRequestError, match="criterion"):
        find_profiles(conn, Query(max_results=5))
