"""Profile reads carry the ERP figures from the CRM base's snapshot, with their as-of time and
age, and keep answering once the ERP database is gone (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import update

from gateway.erp.demo import create_demo_erp
from gateway.store.tables import erp_customer, erp_source
from tests.erp.conftest import erp_settings, expected_from_erp, make_refresher
from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api

CUSTOMER = "C-100904"  # Felix Hoffmann in the demo ERP


def submit(api: Api, records: list[str], sender: str) -> list[dict[str, Any]]:
    answer = api.client.post(
        "/api/v1/profiles",
        data=envelope(records, message_id=f"m-{sender}", sender=sender).encode(),
        headers={**api.headers("admin"), "Content-Type": "application/xml"},
    )
    results: list[dict[str, Any]] = answer.json["results"]
    assert [r["status"] for r in results] == ["created"] * len(records), results
    return results


def test_reads_show_erp_figures_with_their_age_after_the_erp_is_removed(
        api: Api, tmp_path: Path) -> None:
    erp_path = tmp_path / "erp.db"
    create_demo_erp(erp_path)
    expected = expected_from_erp(erp_path)[CUSTOMER]
    (linked,) = (r["id"] for r in submit(api, [profile(CUSTOMER, "Hoffmann", system="erp")],
                                         sender="erp"))
    (unlinked,) = (r["id"] for r in submit(api, [profile("77", "Hughes")], sender="shop"))
    refresher = make_refresher(api.gateway.engine, erp_settings(erp_path))
    refresher.full()
    refresher.source.close()
    erp_path.unlink()  # the ERP is gone; every read below comes from the CRM base

    hours_ago = datetime.now(UTC) - timedelta(hours=3)
    with api.gateway.engine.begin() as conn:  # as if the last refresh ran three hours ago
        conn.execute(update(erp_customer).where(erp_customer.c.customer_key == CUSTOMER)
                     .values(extracted_at=hours_ago))
        conn.execute(update(erp_source).values(confirmed_at=hours_ago))
    admin = api.headers("admin")

    read = api.client.get(f"/api/v1/profiles/{linked}", headers=admin)
    assert read.status_code == 200, read.json
    financial, erp = read.json["financial"], read.json["erp"]
    _credit, orders, value, last_order, open_invoices, balance = expected
    assert (financial["order_count"], financial["open_invoices"]) == (orders, open_invoices)
    assert Decimal(financial["lifetime_value"]) == Decimal(value)
    assert Decimal(financial["balance"]) == Decimal(balance)
    assert financial["last_order_date"] == last_order
    assert abs(datetime.fromisoformat(erp["as_of"]) - hours_ago) < timedelta(seconds=1)
    assert 3 * 3600 <= erp["age_seconds"] < 3 * 3600 + 300
    assert int(read.headers["CPEX-ERP-Age"]) >= 3 * 3600

    xml = api.client.get(f"/api/v1/profiles/{linked}",
                         headers={**admin, "Accept": "application/xml"})
    assert xml.status_code == 200
    assert f"<cpex:OrderCount>{orders}</cpex:OrderCount>".encode() in xml.data
    assert b"<cpex:AsOf>" in xml.data and int(xml.headers["CPEX-ERP-Age"]) >= 3 * 3600

    found = api.client.get("/api/v1/profiles?name=Hoffmann", headers=admin).json
    (item,) = found["items"]
    assert item["id"] == linked and item["erp"]["order_count"] == orders
    assert item["erp"]["age_seconds"] >= 3 * 3600 and item["erp"]["as_of"] == erp["as_of"]

    listed = {i["id"]: i["erp"] for i in api.client.get("/api/v1/profiles",
                                                         headers=admin).json["items"]}
    assert listed[unlinked] is None and listed[linked]["credit_status"] == financial[
        "credit_status"]
    no_erp = api.client.get(f"/api/v1/profiles/{unlinked}", headers=admin)
    assert no_erp.json["erp"] is None and "financial" not in no_erp.json
    assert "CPEX-ERP-Age" not in no_erp.headers


def test_a_read_written_back_keeps_the_erp_block_out_of_the_profile(
        api: Api, tmp_path: Path) -> None:
    erp_path = tmp_path / "erp.db"
    create_demo_erp(erp_path)
    (result,) = submit(api, [profile(CUSTOMER, "Hoffmann", system="erp")], sender="erp")
    refresher = make_refresher(api.gateway.engine, erp_settings(erp_path))
    refresher.full()
    refresher.source.close()
    url, admin = f"/api/v1/profiles/{result['id']}", api.headers("admin")
    read = api.client.get(url, headers=admin)
    body = dict(read.json)
    body["person"] = {**body["person"], "given_name": "Felix-Maria"}
    written = api.client.put(url, json=body, headers={**admin, "If-Match": read.headers["ETag"]})
    assert written.status_code == 200, written.json
    assert written.json["person"]["given_name"] == "Felix-Maria"
    assert written.json["erp"]["as_of"] == read.json["erp"]["as_of"]
    assert written.json["financial"]["order_count"] == read.json["financial"]["order_count"]
