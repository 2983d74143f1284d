"""Erasure over REST reaches the quarantine in every record format it holds: CPEX XML, JSON
profiles, and CSV or SQL rows (stored as ``row``), by the person's key, e-mail or phone, and
leaves other people's refused records alone (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.pipeline.runner import Batch, Pipeline
from gateway.pipeline.tables import quarantine_record
from tests.pipeline.conftest import envelope
from tests.web.conftest import Api

KEY = "100742"
MAIL = "k.mueller@example.de"


def _csv_row(
    cust_no: str, *, phone: str = "", email: str = "", born: str = "31.02.1979"
) -> dict[str, str]:
    """A row of the ERP's CSV extract; the impossible birth date gets it refused at mapping."""
    return {
        "CUST_NO": cust_no,
        "SALUTATION": "Frau",
        "FIRST_NAME": "Katharina",
        "LAST_NAME": "Müller",
        "BIRTH_DATE": born,
        "STREET": "Kastanienallee 12",
        "ZIP": "10435",
        "CITY": "Berlin",
        "COUNTRY": "DE",
        "EMAIL": email,
        "PHONE": phone,
        "NEWSLETTER": "J",
        "SEGMENTS": "",
        "CHANGED_AT": "2024-11-01 02:00",
    }


def _sql_row(customer_no: str, *, email: str = "") -> dict[str, Any]:
    """A row of the ERP's SQL extract; country "Germany" is no ISO code: refused at validation."""
    return {
        "customer_no": customer_no,
        "first_name": "Katharina",
        "last_name": "Müller",
        "company": None,
        "email": email,
        "street": "Kastanienallee 12",
        "postcode": "10435",
        "city": "Berlin",
        "country": "Germany",
        "credit_status": None,
        "currency": None,
        "order_count": None,
        "lifetime_value": None,
        "last_order_date": None,
        "open_invoices": None,
        "balance": None,
        "extracted_at": None,
    }


def _rows(api: Api, mapping: str, rows: list[dict[str, Any]]) -> list[int]:
    """Rows through the pipeline as the file drop and the ERP connector send them: the
    quarantine ids of the refused ones, in order."""
    pipeline = Pipeline(api.gateway, Batch("erp", f"{mapping} rows", None, mapping, "test"))
    report = pipeline.run_decoded(
        pipeline.decoder.row(row, index, line=index + 1) for index, row in enumerate(rows, 1)
    )
    ids = [o.quarantine_id for o in report.rejected]
    assert len(ids) == len(rows) and all(ids), [o.errors for o in report.rejected]
    return [int(i) for i in ids if i is not None]


def _xml(key: str, country: str) -> str:
    return (
        f'<cpex:Profile><cpex:Identifiers><cpex:Identifier system="erp" key="{key}"/>'
        f"</cpex:Identifiers><cpex:Person><cpex:FamilyName>Müller</cpex:FamilyName></cpex:Person>"
        f'<cpex:Addresses><cpex:Address type="home"><cpex:City>Berlin</cpex:City>'
        f"<cpex:Country>{country}</cpex:Country></cpex:Address></cpex:Addresses></cpex:Profile>"
    )


def _posted(api: Api, body: Any, *, xml: bool = False) -> list[dict[str, Any]]:
    headers = api.headers("admin")
    if xml:
        answer = api.client.post(
            "/api/v1/profiles", data=body, headers={**headers, "Content-Type": "application/xml"}
        )
    else:
        answer = api.client.post("/api/v1/profiles", json=body, headers=headers)
    assert answer.status_code == 200, answer.json
    results: list[dict[str, Any]] = answer.json["results"]
    return results


def _left(api: Api) -> set[int]:
    with api.gateway.engine.connect() as conn:
        return set(conn.execute(select(quarantine_record.c.id)).scalars())


def test_erasure_deletes_her_refused_records_in_every_format(mapping_api: Api) -> None:
    api = mapping_api
    (her,) = _posted(
        api,
        {
            "source": "erp",
            "message_id": "k",
            "profiles": [
                {
                    "identifiers": [{"system": "erp", "key": KEY}],
                    "person": {"given_name": "Katharina", "family_name": "Müller"},
                    "emails": [{"address": MAIL}],
                    "phones": [{"number": "+49304401234", "type": "landline"}],
                }
            ],
        },
    )
    assert her["status"] == "created", her
    ours, theirs = [], []
    # CSV rows: her customer number; her phone dialled at home; her e-mail in another case
    ours += _rows(
        api,
        "erp-customers-csv",
        [
            _csv_row(KEY),
            _csv_row("100799", phone="030 4401234"),
            _csv_row("100798", email=" K.Mueller@Example.DE "),
        ],
    )
    # ... and other people's: another number, phone and address
    theirs += _rows(
        api,
        "erp-customers-csv",
        [
            _csv_row("100743", phone="0176 12345678", email="jan@example.de"),
        ],
    )
    # SQL rows: her customer number, her e-mail; another customer's
    ours += _rows(api, "erp-customers-sql", [_sql_row(KEY), _sql_row("555", email=MAIL)])
    theirs += _rows(api, "erp-customers-sql", [_sql_row("100744")])
    # a CPEX XML record and a JSON profile with her key, refused for their country
    xml = envelope([_xml(KEY, "Germany"), _xml("100745", "Germany")], sender="erp")
    ours_xml, theirs_xml = _posted(api, xml.encode(), xml=True)
    ours.append(ours_xml["quarantine_id"])
    theirs.append(theirs_xml["quarantine_id"])
    json_records = _posted(
        api,
        {
            "source": "erp",
            "message_id": "j",
            "profiles": [
                {
                    "identifiers": [{"system": "erp", "key": KEY}],
                    "addresses": [{"country": "Germany"}],
                },
                {
                    "identifiers": [{"system": "erp", "key": "100746"}],
                    "addresses": [{"country": "X"}],
                },
            ],
        },
    )
    ours.append(json_records[0]["quarantine_id"])
    theirs.append(json_records[1]["quarantine_id"])
    assert _left(api) == set(ours) | set(theirs)

    erased = api.client.delete(f"/api/v1/profiles/{her['id']}", headers=api.headers("admin"))

    assert erased.status_code == 200, erased.json
    assert erased.json["quarantine_records_deleted"] == len(ours)
    assert _left(api) == set(theirs)
