"""The exchange envelope: a round trip through the XSD for each kind of body, and its checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.errors import ModelError
from gateway.model import Identifier, Organization, Person, Profile
from gateway.model.envelope import (
    Acknowledgement,
    Batch,
    Body,
    Envelope,
    Erase,
    Header,
    Operation,
    ProfileRef,
    Query,
    QueryResult,
    RecordError,
    RecordResult,
    ResultStatus,
    envelope_from_element,
    envelope_to_bytes,
    envelope_to_element,
)
from gateway.xml import parse_bytes
from gateway.xml.schemas import SchemaRegistry
from tests.model.strategies import profiles

CET = timezone(timedelta(hours=1))
ANNA = Profile(
    identifiers=(Identifier("erp", "C-1"),), person=Person("Anna", family_name="Kowalski")
)
ACME = Profile(identifiers=(Identifier("erp", "B-7"), Identifier("web", "acme")),
               organization=Organization("Acme Ltd"), id="gp-7")


def header(operation: Operation, correlation_id: str | None = None) -> Header:
    return Header("msg-1", "partner:acme", "gateway", datetime(2024, 11, 5, 10, 0, tzinfo=CET),
                  operation, correlation_id)


BODIES: list[tuple[Operation, Body]] = [
    (Operation.UPSERT, Batch((ANNA, ACME, ANNA))),
    (Operation.QUERY, Query(family_name="Kowalski", postal_code="00-950", max_results=5)),
    (Operation.QUERY, Query(profile_id="gp-7", identifier=Identifier("erp", "B-7"),
                            email="a@example.pl", phone="+48221234567")),
    (Operation.ERASE, Erase((
        ProfileRef(profile_id="gp-7"), ProfileRef(identifier=Identifier("erp", "C-1")),
    ))),
    (Operation.ACK, Acknowledgement((
        RecordResult(1, ResultStatus.CREATED, "gp-8"),
        RecordResult(2, ResultStatus.REJECTED, errors=(
            RecordError(
                "schema_invalid", "Email does not match the pattern", "/Profile/Emails/Email", 12
            ),
            RecordError("model_error", "Gender: expected one of female, male, diverse, unknown"),
        )),
        RecordResult(3, ResultStatus.NOT_FOUND),
    ))),
    (Operation.ACK, QueryResult((ACME,))),
    (Operation.ACK, QueryResult()),
]


@pytest.mark.parametrize(("operation", "body"), BODIES, ids=lambda v: type(v).__name__)
def test_envelope_round_trips(registry: SchemaRegistry, operation: Operation, body: Body) -> None:
    envelope = Envelope(header(operation, "msg-0" if operation is Operation.ACK else None), body)
    element = envelope_to_element(envelope)
    registry.validate(element)
    assert envelope_from_element(element) == envelope
    assert envelope_from_element(parse_bytes(envelope_to_bytes(envelope)).getroot()) == envelope


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(profiles(), min_size=1, max_size=4))
def test_any_batch_round_trips(registry: SchemaRegistry, batch: list[Profile]) -> None:
    envelope = Envelope(header(Operation.UPSERT), Batch(tuple(batch)))
    element = envelope_to_element(envelope)
    registry.validate(element)
    assert envelope_from_element(element) == envelope


def test_operation_must_fit_the_body() -> None:
    with pytest.raises(ModelError) as raised:
        envelope_to_element(Envelope(header(Operation.ERASE), Batch((ANNA,))))
    assert raised.value.path == "/Envelope/Header/Operation"
    element = envelope_to_element(Envelope(header(Operation.UPSERT), Batch((ANNA,))))
    element[0][4].text = "query"
    with pytest.raises(ModelError, match="does not fit a Batch body"):
        envelope_from_element(element)


def test_profile_ref_needs_exactly_one_key() -> None:
    envelope = Envelope(header(Operation.ERASE), Erase((ProfileRef(),)))
    with pytest.raises(ModelError, match="exactly one of ProfileId or Identifier") as raised:
        envelope_to_element(envelope)
    assert raised.value.path == "/Envelope/Body/Erase/ProfileRef"


def test_error_in_a_batched_profile_names_its_position() -> None:
    element = envelope_to_element(Envelope(header(Operation.UPSERT), Batch((ANNA, ANNA, ANNA))))
    person = element.find("*/*/{urn:cpex:profile:1.0}Profile[2]/{urn:cpex:profile:1.0}Person")
    assert person is not None
    etree.SubElement(person, "{urn:cpex:profile:1.0}Gender").text = "robot"
    with pytest.raises(ModelError) as raised:
        envelope_from_element(element)
    assert raised.value.path == "/Envelope/Body/Batch/Profile[2]/Person/Gender"


def test_body_must_hold_one_element() -> None:
    element = envelope_to_element(Envelope(header(Operation.ACK, "m"), QueryResult()))
    element[1].append(element[1].makeelement("{urn:cpex:exchange:1.0}Batch", {}))
    with pytest.raises(ModelError, match="exactly one element") as raised:
        envelope_from_element(element)
    assert raised.value.path == "/Envelope/Body"
