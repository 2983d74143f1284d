"""ERP customers become CRM profiles through the same ingest pipeline as every other source:
identity resolution, lineage with the ERP as source, outbox events, quarantine with the
customer key; unchanged master data skipped by content hash on a full refresh; an incremental
refresh feeds only customers whose own row changed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from gateway.erp.refresh import ErpRefresher
from gateway.erp.service import refresher_for
from gateway.pipeline.tables import outbox_event, quarantine_record
from gateway.runtime import Gateway
from gateway.store.profiles import ProfileStore
from gateway.store.tables import golden_profile, source_record
from tests.erp.conftest import erp_settings


def _refresher(gateway: Gateway, erp_path: Path) -> ErpRefresher:
    return refresher_for(gateway, erp_settings(erp_path,
                                               master_mapping="erp-customers-master.yaml"))


def _unaddressable(erp_path: Path) -> set[str]:
    """Customers whose e-mail the CPEX schema refuses (the demo ERP writes a few with accents
    in the local part): their rows are quarantined, never dropped."""
    erp = create_engine(f"sqlite:///{erp_path}")
    with erp.connect() as conn:
        found = {k for k, email in conn.execute(text("SELECT customer_no, email FROM customers"))
                 if email and not email.isascii()}
    erp.dispose()
    return found


def _count(gateway: Gateway, table: object) -> int:
    with gateway.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_erp_customers_become_profiles_and_only_changes_go_through_again(
        gateway: Gateway, erp_path: Path) -> None:
    refresher = _refresher(gateway, erp_path)
    try:
        bad = _unaddressable(erp_path)
        good = 40 - len(bad)
        first = refresher.full()
        assert first.master.outcomes["created"] == good and first.master.skipped == 0
        assert set(first.master.rejected_keys) == bad
        assert f"master data: 40 fed ({good} created, {len(bad)} rejected)" in first.describe()
        assert _count(gateway, golden_profile) == good
        assert _count(gateway, outbox_event) == good
        assert _count(gateway, quarantine_record) == len(bad)
        with gateway.engine.connect() as conn:  # lineage: the ERP is the records' source
            systems = set(conn.execute(select(source_record.c.source_system)).scalars())
        assert systems == {"erp"}
        hoffmann = ProfileStore(gateway.engine).find_by_identifier("erp", "C-100904")
        assert hoffmann is not None and hoffmann.person is not None
        assert hoffmann.person.family_name == "Hoffmann"

        again = refresher.full()  # nothing changed: every customer skipped by its hash
        assert (again.master.fed, again.master.skipped) == (0, 40)
        assert _count(gateway, outbox_event) == good
        assert _count(gateway, quarantine_record) == len(bad)  # refused ones not piled up

        erp = create_engine(f"sqlite:///{erp_path}")
        with erp.begin() as conn:
            conn.execute(text("UPDATE customers SET last_name = 'Hoffmann-Berg', modified_at = "
                              "'2031-01-01 00:00:00' WHERE customer_no = 'C-100904'"))
            conn.execute(text("UPDATE orders SET total = total + 1, modified_at = "
                              "'2031-01-01 00:00:00' WHERE order_no = (SELECT min(order_no) "
                              "FROM orders WHERE customer_no = 'C-100903')"))
        erp.dispose()
        changed = refresher.incremental()
        assert changed.master.fed == 1 and changed.master.outcomes["updated"] == 1
        renamed = ProfileStore(gateway.engine).find_by_identifier("erp", "C-100904")
        assert renamed is not None and renamed.person is not None
        assert renamed.person.family_name == "Hoffmann-Berg"
        assert renamed.id == hoffmann.id  # the same golden profile: resolved by identifier
        assert _count(gateway, outbox_event) == good + 1  # one event, for the changed name
    finally:
        refresher.source.close()


def test_a_refused_customer_is_quarantined_with_its_key_and_fed_again(
        gateway: Gateway, erp_path: Path) -> None:
    erp = create_engine(f"sqlite:///{erp_path}")
    with erp.begin() as conn:
        conn.execute(text("UPDATE customers SET email = 'not an address' "
                          "WHERE customer_no = 'C-100905'"))
    erp.dispose()
    bad = _unaddressable(erp_path) | {"C-100905"}
    refresher = _refresher(gateway, erp_path)
    try:
        first = refresher.full()
        assert first.master.outcomes["rejected"] == len(bad)
        assert set(first.master.rejected_keys) == bad
        assert first.rows_written == 40  # the figures are written all the same
        with gateway.engine.connect() as conn:
            raws = list(conn.execute(select(quarantine_record.c.raw)).scalars())
        assert len(raws) == len(bad)
        assert sum('"C-100905"' in raw for raw in raws) == 1  # the key is in the record
        erp = create_engine(f"sqlite:///{erp_path}")
        with erp.begin() as conn:  # fixed in the ERP: fed again, stored
            conn.execute(text("UPDATE customers SET email = 'camille@example.fr' "
                              "WHERE customer_no = 'C-100905'"))
        erp.dispose()
        second = refresher.full()
        assert (second.master.fed, second.master.skipped) == (1, 39)
        assert second.master.outcomes["created"] == 1
    finally:
        refresher.source.close()


def test_company_accounts_with_countries_by_name_and_local_phones_become_profiles(
        gateway: Gateway, tmp_path: Path) -> None:
    """The second ERP sample: organisation profiles, countries by English name to ISO codes,
    local phone numbers to E.164 in their country's plan (mappings/erp-accounts-master.yaml)."""
    from gateway.erp.settings import erp_settings_from
    from tests.erp import order_lines_erp as sample

    erp = create_engine(f"sqlite:///{tmp_path / 'erp2.db'}")
    sample.create(erp)
    settings = erp_settings_from({"version": 1, "erp": {
        **sample.options(f"sqlite:///{tmp_path / 'erp2.db'}"),
        "master_mapping": "erp-accounts-master.yaml"}}, file="test", base_dir=tmp_path)
    refresher = refresher_for(gateway, settings)
    try:
        result = refresher.full()
    finally:
        refresher.source.close()
        erp.dispose()
    assert result.master.outcomes["created"] == 30
    store = ProfileStore(gateway.engine)
    for account in (1, 2, 3, 4, 5, 6):
        found = store.find_by_identifier("erp2", str(account))
        assert found is not None and found.organization is not None
        assert found.organization.name == f"Muster {account} GmbH"
        n = account % len(sample.COUNTRIES)
        assert [a.country for a in found.addresses] == [sample.ALPHA2[n]]
        assert [p.number for p in found.phones] == [sample.phone_of(account, e164=True)]
