"""The partner trust rules, attacked from outside over REST and SOAP (docs/privacy.md).

The attack the outside test found: a partner upserts a record carrying the ERP's key of someone
(``system="erp"``, sequential, enumerable) and a consent it wrote itself. It used to merge into
the ERP's person, the partner's ``granted`` became the golden consent, and the partner then
received the ERP's address, e-mail and phone, could rename the person and erase them. Each rule
is tested by what the partner sees and what the CRM base holds afterwards, on SQLite and
PostgreSQL (the ``api`` fixture), through the real HTTP endpoint or zeep over real HTTP.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from zeep import Client
from zeep.helpers import serialize_object

from gateway.cli import main
from gateway.delivery.erasure_requests import ErasureRequests, RequestStatus
from gateway.model import (
    Consent,
    ConsentStatus,
    Email,
    Identifier,
    Person,
    Phone,
    PostalAddress,
    Profile,
    Purpose,
    Recipient,
    to_dict,
)
from gateway.model.envelope import ProfileRef
from gateway.partners.registry import load_partners
from gateway.pipeline.runner import Batch, Pipeline
from gateway.security.credentials import CredentialStore, Role
from gateway.store.audit import AuditLog
from gateway.store.profiles import ProfileStore
from gateway.store.tables import source_record
from gateway.web.exchange import use_partners
from tests.web.conftest import Api, api  # noqa: F401  (the fixture, by name)
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    ACME,
    GIVEN,
    Exchange,
    erase,
    exchange_fixture,
    live_url_fixture,
    partner_files_fixture,
    query,
    registry_fixture,
    upsert,
)
from tests.web.test_exchange import answer_of, post
from tests.web.test_metrics import scrape
from tests.web.test_soap import client, code, fault_of, header

ERP_KEY = "100042"
SELF_GRANTED = Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.GRANTED, given=GIVEN)


def erp_person(*consents: Consent) -> Profile:
    """The ERP's customer: the data the attacker is after."""
    return Profile(
        identifiers=(Identifier("erp", ERP_KEY),),
        person=Person(given_name="Victoria", family_name="Quinlan"),
        addresses=(PostalAddress(lines=("7 Secret Lane",), city="Bath", postal_code="BA1 1AA"),),
        emails=(Email("victoria.quinlan@example.com"),),
        phones=(Phone("+441225000111"),),
        consents=consents,
    )


def load_erp(base: Api, profile: Profile) -> str:
    """Store an ERP record through the ingest pipeline, as the ERP import does."""
    pipeline = Pipeline(base.gateway, Batch("erp", "erp extract"))
    report = pipeline.run_documents([to_dict(profile)])
    (result,) = report.acknowledgement()["results"]
    assert result["status"] == "created", result
    return str(result["id"])


def attack(key: str = "evil-1", *, email: str = "mallory@example.net") -> Profile:
    """The hostile record: the ERP's key, a new name, and a consent the partner wrote itself
    (claiming it came from the ERP)."""
    return Profile(
        identifiers=(Identifier("partner:acme", key), Identifier("erp", ERP_KEY)),
        person=Person(given_name="Mallory", family_name="Takeover"),
        emails=(Email(email),),
        consents=(dataclasses.replace(SELF_GRANTED, source="erp"),),
    )


def results(ex: Exchange, body: bytes) -> list[Any]:
    response = post(ex, body)
    assert response.status_code == 200, response.data  # type: ignore[attr-defined]
    return list(answer_of(ex, response).body.results)  # type: ignore[attr-defined]


def shown(ex: Exchange, **criteria: object) -> list[Profile]:
    response = post(ex, query(**criteria))
    assert response.status_code == 200, response.data  # type: ignore[attr-defined]
    return list(answer_of(ex, response).body.profiles)  # type: ignore[attr-defined]


def records_of(base: Api, golden_id: str) -> list[tuple[str, str]]:
    s = source_record.c
    with base.gateway.engine.connect() as conn:
        rows = conn.execute(
            select(s.source_system, s.source_key).where(s.golden_id == golden_id)
        ).all()
    return sorted((r[0], r[1]) for r in rows)


def assert_untouched(base: Api, golden_id: str) -> None:
    """The ERP's person is as the ERP left it: name, one record, not erased."""
    person = ProfileStore(base.gateway.engine).get(golden_id)
    assert person.person is not None
    assert (person.person.given_name, person.person.family_name) == ("Victoria", "Quinlan")
    assert records_of(base, golden_id) == [("erp", ERP_KEY)]


def secrets_in(profiles: list[Profile]) -> set[str]:
    """Which of the ERP's values reached the partner."""
    found: set[str] = set()
    for p in profiles:
        found |= {a.postal_code or "" for a in p.addresses} & {"BA1 1AA"}
        found |= {e.address for e in p.emails} & {"victoria.quinlan@example.com"}
        found |= {ph.number for ph in p.phones} & {"+441225000111"}
        if p.person is not None and p.person.family_name == "Quinlan":
            found.add("Quinlan")
    return found


@pytest.fixture
def strip(exchange: Exchange, tmp_path: Path) -> Exchange:
    """acme's file says foreign identifiers are stripped instead of refusing the record."""
    folder = tmp_path / "partners"
    folder.mkdir()
    (folder / "acme.toml").write_text(
        ACME.replace('[inbound]\n', '[inbound]\nforeign_identifiers = "strip"\n')
    )
    use_partners(exchange.api.app, load_partners(folder))
    return exchange


# --- the attack, over REST -----------------------------------------------------------------


def test_a_foreign_key_with_a_self_written_consent_is_refused(exchange: Exchange) -> None:
    base = exchange.api
    victim = load_erp(base, erp_person())
    (result,) = results(exchange, upsert(attack()))
    assert result.status == "rejected"
    (error,) = result.errors
    assert error.code == "foreign_identifier"
    assert "'erp'" in error.message and "partner:acme" in error.message
    assert ERP_KEY not in error.message  # names the system, never the key
    assert_untouched(base, victim)
    # nothing of the ERP's reaches the partner, by the ERP's key, its id or its e-mail
    assert shown(exchange, identifier=Identifier("erp", ERP_KEY)) == []
    assert shown(exchange, profile_id=victim) == []
    assert shown(exchange, email="victoria.quinlan@example.com") == []
    # and it may not erase the person
    (erased,) = results(exchange, erase(ProfileRef(identifier=Identifier("erp", ERP_KEY))))
    assert (erased.status, erased.errors[0].code) == ("not-found", "not_found")
    (by_id,) = results(exchange, erase(ProfileRef(profile_id=victim)))
    assert (by_id.status, by_id.errors[0].code) == ("not-found", "not_found")
    assert_untouched(base, victim)


def test_stripped_foreign_key_never_merges(strip: Exchange) -> None:
    base = strip.api
    victim = load_erp(base, erp_person())
    (result,) = results(strip, upsert(attack()))
    assert result.status == "created" and result.profile_id != victim
    assert_untouched(base, victim)
    mine = ProfileStore(base.gateway.engine).get(result.profile_id)
    assert [i.system for i in mine.identifiers] == ["partner:acme"]
    assert [c.source for c in mine.consents] == ["partner:acme"]  # its claim "erp" is not kept
    assert secrets_in(shown(strip, identifier=Identifier("erp", ERP_KEY))) == set()
    (erased,) = results(strip, erase(ProfileRef(identifier=Identifier("erp", ERP_KEY))))
    assert erased.status == "not-found"
    assert_untouched(base, victim)


def test_a_merge_by_name_and_email_shows_the_partner_nothing_new(exchange: Exchange) -> None:
    """Without any key, identity resolution links the partner's record to the ERP's person
    (same name and e-mail). The partner still sees only what it sent, and learns nothing of
    the merge from the answer."""
    base = exchange.api
    victim = load_erp(base, erp_person())
    lookalike = Profile(
        identifiers=(Identifier("partner:acme", "look-1"),),
        person=Person(given_name="Victoria", family_name="Quinlan"),
        emails=(Email("victoria.quinlan@example.com"),),
        consents=(SELF_GRANTED,),
    )
    (result,) = results(exchange, upsert(lookalike))
    assert records_of(base, victim) == [("erp", ERP_KEY), ("partner:acme", "look-1")]  # merged
    assert result.status == "created"  # ... but the partner is not told so
    answer = shown(exchange, identifier=Identifier("partner:acme", "look-1"))
    assert [p.id for p in answer] == [victim]
    assert secrets_in(answer) <= {"Quinlan", "victoria.quinlan@example.com"}  # its own values
    assert answer[0].addresses == () and answer[0].phones == ()  # the ERP's are not
    assert shown(exchange, postal_code="BA1 1AA") == []


def test_a_trusted_consent_decides_and_a_partner_consent_never_widens(exchange: Exchange) -> None:
    base = exchange.api
    revoked = Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.REVOKED, given=GIVEN)
    victim = load_erp(base, erp_person(revoked))
    later = dataclasses.replace(SELF_GRANTED, given=GIVEN.replace(year=2025))
    lookalike = Profile(
        identifiers=(Identifier("partner:acme", "look-2"),),
        person=Person(given_name="Victoria", family_name="Quinlan"),
        emails=(Email("victoria.quinlan@example.com"),),
        consents=(later,),  # newer than the ERP's revocation: it used to win
    )
    results(exchange, upsert(lookalike))
    answer = shown(exchange, profile_id=victim)
    assert answer and answer[0].addresses == () and answer[0].phones == ()
    # the ERP records a grant: now the partner receives what its policy allows
    granted = Consent(Purpose.CONTACT, Recipient.SAME, ConsentStatus.GRANTED,
                      given=GIVEN.replace(year=2026))
    pipeline = Pipeline(base.gateway, Batch("erp", "erp extract"))
    pipeline.run_documents([to_dict(erp_person(granted))])
    answer = shown(exchange, profile_id=victim)
    assert secrets_in(answer) == {"BA1 1AA", "victoria.quinlan@example.com", "+441225000111",
                                  "Quinlan"}
    # the ERP's, which allowed it, and acme's own (its data, marked as its own)
    assert answer[0].consents == (granted, dataclasses.replace(later, source="partner:acme"))
    assert all(i.system == "partner:acme" for i in answer[0].identifiers)  # never erp's keys


# --- erasure -----------------------------------------------------------------------------------


def test_partner_erase_removes_its_own_records_and_files_a_request(exchange: Exchange) -> None:
    base = exchange.api
    victim = load_erp(base, erp_person())
    lookalike = Profile(
        identifiers=(Identifier("partner:acme", "look-3"),),
        person=Person(given_name="Victoria", family_name="Quinlan"),
        emails=(Email("victoria.quinlan@example.com"),),
    )
    results(exchange, upsert(lookalike))
    assert ("partner:acme", "look-3") in records_of(base, victim)
    ref = ProfileRef(identifier=Identifier("partner:acme", "look-3"))
    (result,) = results(exchange, erase(ref))
    assert (result.status, result.profile_id) == ("erased", victim)
    assert_untouched(base, victim)  # the ERP's data stays, for a steward to decide
    person = ProfileStore(base.gateway.engine).get(victim)
    assert Identifier("partner:acme", "look-3") not in person.identifiers
    admin = base.headers("admin")
    (request,) = base.client.get("/api/v1/erasure-requests", headers=admin).json["items"]
    assert (request["golden_id"], request["partner"], request["status"]) == (victim, "acme", "open")
    # the same erase again by profile id answers the same, and files nothing new
    (again,) = results(exchange, erase(ProfileRef(profile_id=victim)))
    assert again.status == "erased"
    assert len(ErasureRequests(base.gateway.engine).list()) == 1
    # two stewards approve at once: the person is erased once, the second is told it is decided
    statuses: list[int] = []

    def approve() -> None:
        with base.app.test_client() as steward:
            url = f"/api/v1/erasure-requests/{request['id']}/approve"
            statuses.append(steward.post(url, headers=admin).status_code)

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409]
    assert ProfileStore(base.gateway.engine).get(victim).person is None
    erasures = [e for e in AuditLog(base.gateway.engine).list(golden_id=victim)
                if e.action == "golden.erase"]
    assert len(erasures) == 1 and erasures[0].detail["requested_by"] == "acme"
    decided = ErasureRequests(base.gateway.engine).get(request["id"])
    assert decided.status is RequestStatus.APPROVED


def test_stewards_reject_an_erasure_request_from_the_command_line(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = exchange.api
    victim = load_erp(base, erp_person())
    lookalike = Profile(
        identifiers=(Identifier("partner:acme", "look-4"),),
        person=Person(given_name="Victoria", family_name="Quinlan"),
        emails=(Email("victoria.quinlan@example.com"),),
    )
    results(exchange, upsert(lookalike))
    results(exchange, erase(ProfileRef(identifier=Identifier("partner:acme", "look-4"))))
    monkeypatch.setenv("CPEX_DATABASE_URL", base.gateway.engine.url.render_as_string(
        hide_password=False))
    capsys.readouterr()
    assert main(["erasure-requests", "list"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    request_id, status, golden_id, partner, _at = line.split("\t")
    assert (status, golden_id, partner) == ("open", victim, "acme")
    assert main(["erasure-requests", "reject", request_id]) == 0
    assert "rejected" in capsys.readouterr().out
    assert main(["erasure-requests", "reject", request_id]) == 2
    assert f"erasure request {request_id} is rejected already" in capsys.readouterr().err
    assert_untouched(base, victim)


def test_a_person_known_only_through_the_partner_is_erased_whole(exchange: Exchange) -> None:
    mine = Profile(identifiers=(Identifier("partner:acme", "solo-1"),),
                   person=Person(given_name="Sol", family_name="Only"))
    (created,) = results(exchange, upsert(mine))
    (result,) = results(exchange, erase(ProfileRef(profile_id=created.profile_id)))
    assert result.status == "erased"
    assert ProfileStore(exchange.api.gateway.engine).get(created.profile_id).person is None
    assert ErasureRequests(exchange.api.gateway.engine).list() == []


def test_absent_and_not_visible_get_the_same_answer_and_are_counted(exchange: Exchange) -> None:
    base = exchange.api
    victim = load_erp(base, erp_person())

    def erase_answer(ref: ProfileRef) -> tuple[object, ...]:
        (r,) = results(exchange, erase(ref))
        return (r.status, r.profile_id, [(e.code, e.message, e.path) for e in r.errors])

    pairs = [
        (ProfileRef(profile_id=victim), ProfileRef(profile_id="gp_00000000000000000000000000")),
        (ProfileRef(identifier=Identifier("erp", ERP_KEY)),
         ProfileRef(identifier=Identifier("erp", "999999"))),
    ]
    for hidden, absent in pairs:
        assert erase_answer(hidden) == erase_answer(absent)
    for criteria in ({"profile_id": victim}, {"identifier": Identifier("erp", ERP_KEY)},
                     {"email": "victoria.quinlan@example.com"}):
        response = post(exchange, query(**criteria))
        assert response.status_code == 200
        assert answer_of(exchange, response).body.profiles == ()  # type: ignore[attr-defined]
    assert_untouched(base, victim)
    monitor = CredentialStore(base.gateway.engine).issue("prometheus", Role.MONITOR).token
    figures = scrape(base, monitor)
    refusals = "cpex_partner_refusals"
    assert figures[(refusals, (("operation", "erase"), ("partner", "acme")))] == 4
    assert figures[(refusals, (("operation", "query"), ("partner", "acme")))] == 3


# --- the same over SOAP, with zeep ---------------------------------------------------------------


@pytest.fixture
def acme_soap(exchange: Exchange, live_url: str) -> Iterator[Client]:
    yield client(live_url, exchange.headers("partner"))


def soap_profile(profile: Profile) -> dict[str, Any]:
    value: dict[str, Any] = {
        "Identifiers": {"Identifier": [{"system": i.system, "key": i.key}
                                       for i in profile.identifiers]},
        "Person": {"GivenName": profile.person.given_name,  # type: ignore[union-attr]
                   "FamilyName": profile.person.family_name},  # type: ignore[union-attr]
        "Emails": {"Email": [{"_value_1": e.address} for e in profile.emails]},
    }
    if profile.consents:
        value["Consents"] = {"Consent": [
            {"Purpose": c.purpose.value, "Recipient": c.recipient.value,
             "Status": c.status.value, "Given": c.given} for c in profile.consents
        ]}
    return value


def test_the_attack_over_soap(exchange: Exchange, acme_soap: Client) -> None:
    base = exchange.api
    victim = load_erp(base, erp_person())
    ack = acme_soap.service.SubmitProfiles(Envelope={
        "Header": header("upsert"), "Body": {"Batch": {"Profile": [soap_profile(attack())]}},
    })
    (result,) = ack.Body.Acknowledgement.Result
    assert result.status == "rejected" and result.Error[0].code == "foreign_identifier"
    assert_untouched(base, victim)

    def get(ref: dict[str, Any]) -> str:
        envelope = {"Header": header("query"), "Body": {"Query": ref}}
        return code(fault_of(lambda: acme_soap.service.GetProfile(Envelope=envelope)))

    def fault_message(ref: dict[str, Any]) -> str:
        envelope = {"Header": header("query"), "Body": {"Query": ref}}
        return str(fault_of(lambda: acme_soap.service.GetProfile(Envelope=envelope)).message)

    hidden = {"Identifier": {"system": "erp", "key": ERP_KEY}}
    absent = {"Identifier": {"system": "erp", "key": "999999"}}
    assert get(hidden) == get(absent) == "Client.UnknownProfile"
    assert fault_message(hidden).replace(ERP_KEY, "K") == fault_message(absent).replace(
        "999999", "K")
    assert get({"ProfileId": victim}) == "Client.UnknownProfile"
    found = acme_soap.service.QueryProfiles(Envelope={
        "Header": header("query"), "Body": {"Query": {"Email": "victoria.quinlan@example.com"}},
    })
    assert not ((serialize_object(found.Body) or {}).get("QueryResult") or {}).get("Profile")
    erased = acme_soap.service.EraseProfile(Envelope={
        "Header": header("erase"),
        "Body": {"Erase": {"ProfileRef": [{"ProfileId": victim},
                                          {"Identifier": {"system": "erp", "key": ERP_KEY}},
                                          {"ProfileId": "gp_missing"}]}},
    })
    statuses = [(r.status, r.Error[0].code, r.Error[0]._value_1)
                for r in erased.Body.Acknowledgement.Result]
    assert statuses == [("not-found", "not_found", "no such profile")] * 3
    assert_untouched(base, victim)
