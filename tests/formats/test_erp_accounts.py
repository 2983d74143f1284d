"""An order-management ERP's business customers as CSV (a company with a contact person,
countries by name, phone numbers as dialled locally in twelve countries, a status column), end to
end on both databases: every column lands somewhere, numbers come out in E.164 for their own
country, the deleted customer is erased and the test one skipped, re-importing changes nothing,
the merged profiles export as valid CPEX 1.1, and REST and the file drop agree."""

from __future__ import annotations

import csv
import io
from typing import Any

from gateway.model import to_dict
from gateway.model.xmlcodec import profile_to_element
from tests.formats.conftest import SAMPLES, Hub
from tests.formats.coverage import unread_columns

SAMPLE = SAMPLES / "erp-accounts.csv"
MAPPING = "erp-accounts-csv"


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(SAMPLE.read_text(encoding="utf-8")), delimiter=";"))


def test_every_column_lands_somewhere(hub: Hub) -> None:
    mapping = hub.gateway.mappings.get(MAPPING)
    rows = mapping.read_sample(SAMPLE)
    assert len(rows) == 14 and unread_columns(mapping, rows) == []
    previews = [mapping.preview(r) for r in rows]
    assert [p.errors for p in previews] == [[]] * 14
    assert [p.warnings for p in previews] == [[]] * 14
    assert [p.operation for p in previews][-2:] == ["skip", "erase"]


def _stored(hub: Hub, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        profile = hub.gateway.profiles.find_by_identifier("erp", key)
        if profile is not None:
            hub.gateway.schemas.validate(profile_to_element(profile))  # exports as CPEX 1.1
        out[key] = (
            None if profile is None else {k: v for k, v in to_dict(profile).items() if k != "id"}
        )
    return out


def test_file_drop_erases_skips_and_stores_then_rest_changes_nothing(hub: Hub) -> None:
    # the customer the ERP has since deleted was known before
    old = "CUSTOMER_NO;COMPANY;STATUS\nK-0999;Altkunde;A\n"
    hub.tmp.joinpath("old.csv").write_text(old, encoding="utf-8")
    first = hub.drop(hub.tmp / "old.csv", mapping=f"{MAPPING}.yaml", source="erp")
    assert (first.rows_read, first.rows_rejected) == (1, 0)
    assert _stored(hub, ["K-0999"])["K-0999"]["organization"]["name"] == "Altkunde"

    outcome = hub.drop(SAMPLE, mapping=f"{MAPPING}.yaml", source="erp")
    assert (outcome.rows_read, outcome.rows_rejected) == (14, 0)
    keys = [r["CUSTOMER_NO"] for r in _rows()]
    dropped = _stored(hub, keys)
    assert dropped["K-0999"] is None and dropped["K-1013"] is None  # erased, skipped
    phones = {k: v["phones"][0]["number"] for k, v in dropped.items() if v}
    assert phones == {
        "K-1001": "+4940123456",
        "K-1002": "+33142685300",
        "K-1003": "+441134960000",
        "K-1004": "+12125550143",
        "K-1005": "+31201234567",
        "K-1006": "+390612345678",
        "K-1007": "+420603123456",
        "K-1008": "+41446681800",
        "K-1009": "+48221234567",
        "K-1010": "+34912345678",
        "K-1011": "+4312345678",
        "K-1012": "+46812345678",
    }
    countries = [v["addresses"][0]["country"] for v in dropped.values() if v]
    assert countries == ["DE", "FR", "GB", "US", "NL", "IT", "CZ", "CH", "PL", "ES", "AT", "SE"]
    assert dropped["K-1001"]["organization"]["contacts"] == [
        {
            "given_name": "Anna",
            "family_name": "Berg",
            "role": "Einkauf",
            "email": "anna.berg@nordwind.example",
        }
    ]

    answer = hub.client.post(
        f"/api/v1/profiles?mapping={MAPPING}&source=erp",
        json={"profiles": _rows()},
        headers=hub.admin,
    )
    assert answer.status_code == 200, answer.json
    statuses = [r["status"] for r in answer.json["results"]]
    assert statuses == ["unchanged"] * 12 + ["skipped", "erased"]
    assert answer.json["reasons"] == {"skipped: test customer": 1}
    assert _stored(hub, keys) == dropped


def test_a_row_that_is_not_an_object_is_refused_not_a_server_error(hub: Hub) -> None:
    answer = hub.client.post(
        f"/api/v1/profiles?mapping={MAPPING}&source=erp",
        json={"profiles": [["K-1", "x"], "text"]},
        headers=hub.admin,
    )
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json["results"]] == ["rejected", "rejected"]
    assert "not an object" in answer.json["results"][0]["errors"][0]["message"]
