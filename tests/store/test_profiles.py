"""ProfileStore: outcomes, exact matching, identifiers, atomicity, round trip, reading."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.errors import ModelError, NotFoundError, StoreError
from gateway.model import Identifier, Profile, Purpose
from gateway.store.audit import AuditLog
from gateway.store.engine import write_transaction
from gateway.store.profiles import ProfileStore
from gateway.store.tables import audit_log, consent, golden_profile, identifier, source_record

MakeProfile = Callable[..., Profile]
ALL_TABLES = (golden_profile, source_record, identifier, consent, audit_log)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in ALL_TABLES
        }


def test_new_identifiers_create_a_golden_profile(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    result = store.save_source_profile(
        make_profile(("erp", "C-1"), ("crm", "9")), source_system="erp", raw=b"<p/>"
    )
    assert result.outcome == "created"
    assert result.golden_id.startswith("gp_")
    assert store.count() == 1
    assert row_counts(migrated_engine) == {
        "golden_profile": 1,
        "source_record": 1,
        "identifier": 2,
        "consent": 2,
        "audit_log": 1,
    }


def test_same_content_again_is_unchanged_and_writes_nothing(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    profile = make_profile(("erp", "C-1"))
    first = store.save_source_profile(profile, source_system="erp", raw="<p/>")
    before = row_counts(migrated_engine)
    with migrated_engine.connect() as conn:
        received = conn.execute(select(source_record.c.received_at)).scalar_one()

    again = store.save_source_profile(profile, source_system="erp", raw="<p>  </p>")

    assert again.outcome == "unchanged"
    assert again.golden_id == first.golden_id
    assert row_counts(migrated_engine) == before
    with migrated_engine.connect() as conn:
        row = conn.execute(select(source_record.c.raw, source_record.c.received_at)).one()
        version = conn.execute(select(golden_profile.c.version)).scalar_one()
    assert (row.raw, row.received_at, version) == ("<p/>", received, 1)


def test_changed_content_updates_the_same_golden_profile(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    first = store.save_source_profile(make_profile(("erp", "C-1")), source_system="erp", raw="1")
    changed = make_profile(("erp", "C-1"), given_name="Augusta")
    received = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)

    result = store.save_source_profile(changed, source_system="erp", raw="2", received_at=received)

    assert (result.golden_id, result.outcome) == (first.golden_id, "updated")
    assert [(c.kind, c.version, c.fields) for c in result.changes] == [("updated", 2, ("person",))]
    assert store.get(first.golden_id) == dataclasses.replace(changed, id=first.golden_id)
    with migrated_engine.connect() as conn:
        assert conn.execute(select(golden_profile.c.version)).scalar_one() == 2
        source = conn.execute(select(source_record)).one()
    assert (source.raw, source.received_at) == ("2", received)
    assert row_counts(migrated_engine)["source_record"] == 1


def test_a_second_source_sharing_one_identifier_joins_the_golden_profile(
    store: ProfileStore, make_profile: MakeProfile
) -> None:
    erp = store.save_source_profile(
        make_profile(("erp", "C-1"), ("crm", "9")), source_system="erp", raw="e"
    )
    web = store.save_source_profile(
        make_profile(("web", "u-77"), ("crm", "9"), given_name="Ada B."),
        source_system="web",
        raw="w",
    )

    assert (web.golden_id, web.outcome) == (erp.golden_id, "merged")
    assert web.match is not None and web.match["via"] == "identifier"
    assert store.count() == 1
    golden = store.get(erp.golden_id)
    assert golden.person is not None and golden.person.given_name == "Ada B."
    # The newest source's identifiers first, none of the earlier ones lost.
    assert golden.identifiers == (
        Identifier("web", "u-77"),
        Identifier("crm", "9"),
        Identifier("erp", "C-1"),
    )
    for system, key in (("erp", "C-1"), ("web", "u-77"), ("crm", "9")):
        found = store.find_by_identifier(system, key)
        assert found is not None and found.id == erp.golden_id


def test_identifiers_of_two_golden_profiles_open_a_review_instead_of_a_merge(
    store: ProfileStore, make_profile: MakeProfile
) -> None:
    a = store.save_source_profile(make_profile(("erp", "A")), source_system="erp", raw="a")
    b = store.save_source_profile(make_profile(("erp", "B"), who=1), source_system="erp", raw="b")

    web = store.save_source_profile(
        make_profile(("web", "w"), ("erp", "A"), ("erp", "B")), source_system="web", raw="w"
    )

    # The record is kept (joining the older owner); merging the two is a person's decision.
    assert (web.golden_id, web.outcome) == (a.golden_id, "review")
    assert store.count() == 2
    (item,) = store.reviews.list()
    assert (item.golden_id, item.candidate_id) == (a.golden_id, b.golden_id)
    assert item.details["reason"] == "identifier"
    # erp/B still belongs to B alone, in the identifier table and in the documents.
    found = store.find_by_identifier("erp", "B")
    assert found is not None and found.id == b.golden_id
    assert Identifier("erp", "B") not in store.get(a.golden_id).identifiers


def test_an_identifier_belongs_to_one_golden_profile_only(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    a = store.save_source_profile(make_profile(("erp", "A")), source_system="erp", raw="a")
    b = store.save_source_profile(make_profile(("erp", "B"), who=1), source_system="erp", raw="b")
    assert a.golden_id != b.golden_id
    with pytest.raises(IntegrityError), write_transaction(migrated_engine) as conn:
        conn.execute(insert(identifier), {"system": "erp", "key": "A", "golden_id": b.golden_id})


def test_repeated_identifiers_in_one_profile_are_kept_once(
    store: ProfileStore, make_profile: MakeProfile
) -> None:
    result = store.save_source_profile(
        make_profile(("erp", "A"), ("erp", "A")), source_system="erp", raw="a"
    )
    assert store.get(result.golden_id).identifiers == (Identifier("erp", "A"),)


@contextmanager
def failing_statement(engine: Engine, table: str) -> Iterator[None]:
    """Makes the database itself reject every row inserted into ``table``.

    A trigger raises ``no_such_table``: a real driver error mid-transaction, after the other
    rows of the record were written, whether the rows come by INSERT or (PostgreSQL) by COPY.
    """
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgresql:
            conn.exec_driver_sql(
                "CREATE FUNCTION cpex_test_fail() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no_such_table'; END $$"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER cpex_test_fail BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION cpex_test_fail()"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER cpex_test_fail BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'no_such_table'); END"
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if postgresql:
                conn.exec_driver_sql(f"DROP TRIGGER cpex_test_fail ON {table}")
                conn.exec_driver_sql("DROP FUNCTION cpex_test_fail()")
            else:
                conn.exec_driver_sql("DROP TRIGGER cpex_test_fail")


def test_a_failure_at_the_last_step_leaves_nothing_of_a_new_record(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    with (
        failing_statement(migrated_engine, "audit_log"),
        pytest.raises(StoreError, match="saving source record erp/C-1") as info,
    ):
        store.save_source_profile(make_profile(("erp", "C-1")), source_system="erp", raw="x")
    assert "no_such_table" in str(info.value)
    assert isinstance(info.value.__cause__, Exception)
    assert row_counts(migrated_engine) == dict.fromkeys(row_counts(migrated_engine), 0)
    assert store.find_by_identifier("erp", "C-1") is None


def test_a_failed_update_leaves_the_previous_version_whole(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    original = make_profile(("erp", "C-1"))
    saved = store.save_source_profile(original, source_system="erp", raw="1")
    before = row_counts(migrated_engine)
    with failing_statement(migrated_engine, "audit_log"), pytest.raises(StoreError):
        store.save_source_profile(
            make_profile(("erp", "C-1"), ("web", "new"), given_name="Other"),
            source_system="erp",
            raw="2",
        )
    assert store.get(saved.golden_id) == dataclasses.replace(original, id=saved.golden_id)
    assert store.find_by_identifier("web", "new") is None
    assert row_counts(migrated_engine) == before
    with migrated_engine.connect() as conn:
        assert conn.execute(select(source_record.c.raw)).scalar_one() == "1"
        assert conn.execute(select(golden_profile.c.version)).scalar_one() == 1


def test_a_rich_profile_round_trips_apart_from_its_id(
    store: ProfileStore, make_profile: MakeProfile
) -> None:
    profile = make_profile(("erp", "C-1"), ("crm", "9"))
    result = store.save_source_profile(profile, source_system="erp", raw="x")
    stored = store.get(result.golden_id)
    assert stored.id == result.golden_id
    assert dataclasses.replace(stored, id=None) == profile
    assert store.find_by_identifier("crm", "9") == stored


def test_consent_rows_mirror_the_golden_document(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    profile = make_profile(("erp", "C-1"))
    store.save_source_profile(profile, source_system="erp", raw="1")
    with migrated_engine.connect() as conn:
        rows = conn.execute(select(consent).order_by(consent.c.id)).all()
    assert [(r.purpose, r.status, r.given_at, r.expires_at, r.source) for r in rows] == [
        (c.purpose.value, c.status.value, c.given, c.expires, c.source) for c in profile.consents
    ]

    fewer = dataclasses.replace(profile, consents=profile.consents[1:])
    store.save_source_profile(fewer, source_system="erp", raw="2")
    with migrated_engine.connect() as conn:
        purposes = conn.execute(select(consent.c.purpose)).scalars().all()
    assert purposes == [Purpose.TELEMARKETING.value]


def test_every_stored_change_is_audited(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    first = store.save_source_profile(
        make_profile(("erp", "C-1")), source_system="erp", raw="1", actor="erp-sync"
    )
    store.save_source_profile(make_profile(("erp", "C-1")), source_system="erp", raw="1")
    store.save_source_profile(
        make_profile(("erp", "C-1"), given_name="Augusta"), source_system="erp", raw="2"
    )
    store.save_source_profile(make_profile(("erp", "other"), who=1), source_system="erp", raw="3")

    entries = AuditLog(migrated_engine).list(golden_id=first.golden_id)

    assert [(e.actor, e.action) for e in entries] == [
        ("erp-sync", "golden.create"),
        ("import", "golden.update"),
    ]
    created, updated = entries
    assert created.fields is not None and "person" in created.fields
    assert updated.fields == ("person",)
    assert updated.detail == {"source_system": "erp", "source_key": "C-1", "version": 2}
    assert updated.at >= created.at and updated.at.tzinfo is UTC
    assert len(AuditLog(migrated_engine).list()) == 3


def test_a_profile_without_its_source_key_is_refused(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    with pytest.raises(ModelError, match="no identifier for source system 'erp'"):
        store.save_source_profile(make_profile(("crm", "9")), source_system="erp", raw="x")
    assert row_counts(migrated_engine)["golden_profile"] == 0


def test_a_raw_payload_that_is_not_utf8_is_refused(
    store: ProfileStore, make_profile: MakeProfile
) -> None:
    with pytest.raises(StoreError, match="erp/C-1 is not UTF-8"):
        store.save_source_profile(make_profile(("erp", "C-1")), source_system="erp", raw=b"\xff")
    assert store.count() == 0


def test_reading_what_is_not_there(store: ProfileStore) -> None:
    with pytest.raises(NotFoundError, match="golden profile 'gp_missing' not found"):
        store.get("gp_missing")
    assert store.find_by_identifier("erp", "nobody") is None
    assert store.count() == 0
    assert store.list_ids() == []


def test_ids_are_listed_in_id_order_by_page(store: ProfileStore, make_profile: MakeProfile) -> None:
    ids = [
        store.save_source_profile(
            make_profile(("erp", str(n)), who=n), source_system="erp", raw="x"
        ).golden_id
        for n in range(5)
    ]
    ids.sort()
    assert store.list_ids() == ids
    assert store.list_ids(limit=2, offset=1) == ids[1:3]
    assert store.list_ids(limit=10, offset=5) == []
    with pytest.raises(ValueError, match="must not be negative"):
        store.list_ids(limit=-1)


def test_concurrent_writers_to_one_golden_profile_take_turns(
    store: ProfileStore, make_profile: MakeProfile, migrated_engine: Engine
) -> None:
    """SQLite: BEGIN IMMEDIATE and the busy timeout; PostgreSQL: the golden row lock."""
    golden = store.save_source_profile(
        make_profile(("crm", "shared")), source_system="crm", raw="c"
    ).golden_id
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for round_ in range(5):
                name = f"{n}.{round_}"
                profile = make_profile(("web", f"w{n}"), ("crm", "shared"), given_name=name)
                result = store.save_source_profile(profile, source_system="web", raw=name)
                assert result.golden_id == golden
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert store.count() == 1
    assert len(store.get(golden).identifiers) == 5
    assert len(AuditLog(migrated_engine).list(golden_id=golden, limit=100)) == 21
