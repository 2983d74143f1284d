"""A partner sends what its own platform emits: ``POST /cpex/v1/records`` with its API key, its
partner file naming the format, the mapping and samples; ``partners check`` runs the samples
through schema and mapping. On both databases."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.mapping import MappingSet
from gateway.partners.registry import load_partners
from gateway.partners.samples import check_samples
from gateway.security.credentials import CredentialStore, Role
from gateway.web.exchange import use_partners
from tests.formats.conftest import REPO, SAMPLES, Hub

PARTNER = """
version = 1
id = "{id}"
name = "A partner platform"
operations = ["upsert"]
[auth]
api_key = true
[inbound]
schema = "{schema}"
format = "{format}"
mapping = "{mapping}"
{extra}
[privacy]
recipient = "same"
purposes = ["current"]
"""

COMMERCE = {
    "id": "commerce",
    "schema": "http://www.demandware.com/xml/impex/customer/2006-10-31",
    "format": "xml",
    "mapping": "commerce-customers",
    "extra": 'samples = ["samples/commerce-customers.xml"]',
}
CRM = {
    "id": "crmco",
    "schema": "urn:cpex:profile:1.0",
    "format": "json",
    "mapping": "crm-contacts",
    "extra": 'json_schema = "schema-org-contacts.schema.json"\n'
    'samples = ["samples/crm-contacts.json"]',
}
ERP = {
    "id": "erpco",
    "schema": "urn:cpex:profile:1.0",
    "format": "csv",
    "mapping": "erp-accounts-csv",
    "extra": 'samples = ["samples/erp-accounts.csv"]',
}


def partner_folder(tmp: Path, *partners: dict[str, str]) -> Path:
    folder = tmp / "partners"
    folder.mkdir(parents=True, exist_ok=True)
    for p in partners:
        (folder / f"{p['id']}.toml").write_text(textwrap.dedent(PARTNER.format(**p)))
    return folder


@pytest.fixture
def keys(hub: Hub) -> dict[str, dict[str, str]]:
    use_partners(hub.client.application, load_partners(partner_folder(hub.tmp, COMMERCE, CRM, ERP)))
    store = CredentialStore(hub.gateway.engine)
    return {
        p: {"Authorization": f"Bearer {store.issue(p, Role.PARTNER, partner_id=p).token}"}
        for p in ("commerce", "crmco", "erpco")
    }


def test_each_partner_posts_its_own_format(hub: Hub, keys: dict[str, dict[str, str]]) -> None:
    xml = hub.client.post(
        "/cpex/v1/records",
        data=(SAMPLES / "commerce-customers.xml").read_bytes(),
        headers={**keys["commerce"], "Content-Type": "application/xml"},
    )
    assert xml.status_code == 200, xml.json
    assert [r["status"] for r in xml.json["results"]] == ["created", "created", "erased"]
    anna = hub.gateway.profiles.find_by_identifier("partner:commerce", "00004711")
    assert anna is not None and anna.person.employment.organization_name == "Nordwind GmbH"

    body = (SAMPLES / "crm-contacts.json").read_bytes()
    crm = hub.client.post(
        "/cpex/v1/records", data=body, headers={**keys["crmco"], "Content-Type": "application/json"}
    )
    assert [r["status"] for r in crm.json["results"]] == ["created", "created"]

    csv = hub.client.post(
        "/cpex/v1/records",
        data=(SAMPLES / "erp-accounts.csv").read_bytes(),
        headers={**keys["erpco"], "Content-Type": "text/csv", "X-Message-Id": "erp-2026-03-01"},
    )
    counts = csv.json["counts"]
    # Atelier Lumière is known from the CRM's upload: identity resolution may join it
    assert counts["created"] + counts["merged"] + counts["review"] == 12
    assert (counts["skipped"], counts["erased"], counts["rejected"]) == (1, 1, 0)
    again = hub.client.post(
        "/cpex/v1/records",
        data=b"not even csv",
        headers={**keys["erpco"], "X-Message-Id": "erp-2026-03-01"},
    )
    assert again.json == csv.json  # the same message id: the stored answer, nothing run


def test_bad_bodies_are_4xx_naming_the_cause(hub: Hub, keys: dict[str, dict[str, str]]) -> None:
    broken = hub.client.post(
        "/cpex/v1/records", data=b"<customers><customer", headers=keys["commerce"]
    )
    assert broken.status_code == 400 and broken.json["error"]["code"] == "xml_syntax"
    wrong = json.dumps({"@graph": [{"@type": "Robot", "identifier": "R-1"}]}).encode()
    refused = hub.client.post("/cpex/v1/records", data=wrong, headers=keys["crmco"])
    assert refused.status_code == 400
    assert refused.json["error"]["path"] == "@graph/0/@type"
    not_json = hub.client.post("/cpex/v1/records", data=b"{", headers=keys["crmco"])
    assert (
        not_json.status_code == 400 and "not a JSON document" in not_json.json["error"]["message"]
    )
    header = hub.client.post("/cpex/v1/records", data=b"WHO;WHAT\n1;2\n", headers=keys["erpco"])
    assert header.status_code == 400
    assert "columns the mapping does not declare: WHO, WHAT" in header.json["error"]["message"]
    nobody = hub.client.post("/cpex/v1/records", data=b"<x/>")
    assert nobody.status_code == 401


def test_a_cpex_partner_is_sent_to_the_exchange(hub: Hub) -> None:
    cpex = dict(CRM, id="plain", format="cpex", extra="")
    use_partners(hub.client.application, load_partners(partner_folder(hub.tmp, cpex)))
    token = CredentialStore(hub.gateway.engine).issue("plain", Role.PARTNER, partner_id="plain")
    answer = hub.client.post(
        "/cpex/v1/records", data=b"<x/>", headers={"Authorization": f"Bearer {token.token}"}
    )
    assert answer.status_code == 400 and "/cpex/v1/exchange" in answer.json["error"]["message"]


@pytest.fixture
def cli_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


@pytest.mark.usefixtures("cli_config")
def test_partners_check_runs_the_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = partner_folder(tmp_path / "good", COMMERCE, CRM, ERP)
    assert main(["partners", "check", "--dir", str(good)]) == 0, capsys.readouterr().err


def test_partners_check_fails_on_refusal_and_undeclared_attribute(hub: Hub) -> None:
    folder = hub.tmp / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    odd = (
        (SAMPLES / "commerce-customers.xml")
        .read_text(encoding="utf-8")
        .replace('attribute-id="loyaltyTier"', 'attribute-id="shoeSize"')
    )
    (folder / "samples" / "odd.xml").write_text(odd, encoding="utf-8")
    (folder / "samples" / "invalid.xml").write_text(
        '<customers xmlns="http://www.demandware.com/xml/impex/customer/2006-10-31">'
        "<customer/></customers>",
        encoding="utf-8",
    )
    mappings = MappingSet(
        folder, schemas=hub.gateway.schemas, attributes=hub.gateway.settings.attribute_declarations
    )
    partner = dict(
        COMMERCE,
        extra='samples = ["samples/odd.xml", "samples/invalid.xml", '
        '"samples/crm-contacts.json", "../../etc/passwd"]',
    )
    problems = [
        str(p)
        for p in check_samples(
            load_partners(partner_folder(hub.tmp, partner)), hub.gateway.schemas, mappings
        )
    ]
    assert len(problems) == 4, problems
    assert "record 1: attributes.shoeSize: stored: not declared in the settings" in problems[0]
    assert "'inbound.samples[1]': sample samples/invalid.xml" in problems[1]
    assert "customer-no" in problems[1]  # the XSD's complaint
    assert "'inbound.samples[2]'" in problems[2]
    assert "no sample file '../../etc/passwd'" in problems[3]


@pytest.mark.usefixtures("cli_config")
def test_validate_takes_partner_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = SAMPLES / "commerce-customers.xml"
    assert main(["validate", str(sample)]) == 0
    broken = tmp_path / "broken.xml"
    broken.write_text(sample.read_text(encoding="utf-8").replace(' customer-no="00004712"', ""),
                      encoding="utf-8")
    assert main(["validate", str(broken)]) == 1
    assert "customer-no" in capsys.readouterr().out
