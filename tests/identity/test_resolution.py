"""Identity resolution through the store, on SQLite and PostgreSQL: exact and fuzzy matches,
review, aliases, unmerge, survivorship with lineage, idempotency and audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from gateway.errors import ConflictError, NotFoundError, StoreError
from gateway.identity import IdentityRules
from gateway.identity.review import ReviewDecidedError
from gateway.model import Identifier
from gateway.store.audit import AuditLog
from gateway.store.profiles import FieldSource, ProfileStore
from gateway.store.tables import golden_profile, identifier, match_key, source_record
from tests.identity.conftest import PersonFactory

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BIRTH = date(1980, 5, 17)


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


# --- deterministic matches ------------------------------------------------------------------


def test_same_source_key_updates_and_same_content_is_unchanged(
    store: ProfileStore, make_person: PersonFactory, migrated_engine: Engine
) -> None:
    first = store.save_source_profile(
        make_person("crm", "1", "Ada", "Lovelace"), source_system="crm", raw="1"
    )
    again = store.save_source_profile(
        make_person("crm", "1", "Ada", "Lovelace"), source_system="crm", raw="1 "
    )
    changed = store.save_source_profile(
        make_person("crm", "1", "Ada", "King"), source_system="crm", raw="2"
    )
    assert [first.outcome, again.outcome, changed.outcome] == ["created", "unchanged", "updated"]
    assert again.changes == () and {first.golden_id, again.golden_id, changed.golden_id} == {
        first.golden_id
    }
    assert count(migrated_engine, source_record) == 1


def test_a_shared_identifier_joins(store: ProfileStore, make_person: PersonFactory) -> None:
    erp = store.save_source_profile(
        make_person("erp", "E1", "Ada", "Lovelace"), source_system="erp", raw="e"
    )
    web = store.save_source_profile(
        make_person("web", "w", "Augusta", "Byron", extra_ids=(("erp", "E1"),)),
        source_system="web",
        raw="w",
    )
    assert (web.outcome, web.golden_id, web.match["via"] if web.match else None) == (
        "merged",
        erp.golden_id,
        "identifier",
    )


def test_a_normalised_email_joins(store: ProfileStore, make_person: PersonFactory) -> None:
    a = store.save_source_profile(
        make_person("crm", "1", "Ada", "Lovelace", email="Ada.Lovelace@Example.org"),
        source_system="crm",
        raw="a",
    )
    b = store.save_source_profile(
        make_person("web", "w", "Ada", "Lovelace", email="  ada.lovelace@example.ORG "),
        source_system="web",
        raw="b",
    )
    assert (b.outcome, b.golden_id) == ("merged", a.golden_id)
    assert b.match is not None and b.match["via"] == "model"
    assert b.match["fields"]["email"]["level"] == "exact"  # type: ignore[index]


def test_a_reformatted_phone_joins(store: ProfileStore, make_person: PersonFactory) -> None:
    a = store.save_source_profile(
        make_person("crm", "1", "Ada", "Lovelace", phone="+44 20 7123 4567"),
        source_system="crm",
        raw="a",
    )
    b = store.save_source_profile(
        make_person("web", "w", "A.", "Lovelace", phone="(020) 7123-4567"),
        source_system="web",
        raw="b",
    )
    assert (b.outcome, b.golden_id) == ("merged", a.golden_id)
    assert b.match is not None and b.match["via"] == "model"
    assert b.match["fields"]["phone"]["level"] == "exact"  # type: ignore[index]


def test_a_shared_phone_with_a_different_name_does_not_merge(
    store: ProfileStore, make_person: PersonFactory
) -> None:
    a = store.save_source_profile(
        make_person("crm", "1", "Ada", "Lovelace", phone="020 7123 4567"),
        source_system="crm",
        raw="a",
    )
    b = store.save_source_profile(
        make_person("crm", "2", "Charles", "Babbage", phone="020 7123 4567"),
        source_system="crm",
        raw="b",
    )
    assert b.outcome == "created" and b.golden_id != a.golden_id


# --- fuzzy matches and review ----------------------------------------------------------------


def test_a_typoed_swapped_name_with_the_same_birth_date_and_address_merges(
    store: ProfileStore, make_person: PersonFactory
) -> None:
    a = store.save_source_profile(
        make_person(
            "crm", "1", "Jonathan", "Smith", birth=BIRTH, street="1 High St", postcode="SW1Y 4JH"
        ),
        source_system="crm",
        raw="a",
    )
    b = store.save_source_profile(
        make_person(
            "web", "w", "Smith", "Jonathon", birth=BIRTH, street="1 High Street", postcode="sw1y4jh"
        ),
        source_system="web",
        raw="b",
    )
    assert (b.outcome, b.golden_id) == ("merged", a.golden_id)
    assert b.match is not None and b.match["via"] == "model" and b.match["model"] == "default"
    assert set(b.match["fields"]) == {  # type: ignore[arg-type]
        "given_name",
        "family_name",
        "birth_date",
        "street",
        "city",
        "postcode",
    }
    assert b.match["swapped_names"] is True


def opened(store: ProfileStore, make_person: PersonFactory) -> tuple[str, str]:
    """Two records between the bands: same name and city, another street, no birth date (one
    person who moved within the city, or a namesake?)."""
    a = store.save_source_profile(
        make_person("crm", "1", "Jane", "Doe", street="3 Mill Lane"),
        source_system="crm",
        raw="a",
    )
    b = store.save_source_profile(
        make_person("web", "w", "Jane", "Doe", street="77 Harbour Road"),
        source_system="web",
        raw="b",
    )
    assert b.outcome == "review" and b.golden_id != a.golden_id and len(b.review_ids) == 1
    return a.golden_id, b.golden_id


def test_between_the_thresholds_a_review_item_holds_both_candidates_and_the_scores(
    store: ProfileStore, make_person: PersonFactory
) -> None:
    a, b = opened(store, make_person)
    (item,) = store.reviews.list()
    assert (item.golden_id, item.candidate_id, item.status) == (b, a, "open")
    assert item.golden is not None and item.golden.id == b
    assert item.candidate is not None and item.candidate.id == a
    assert item.details["reason"] == "model" and item.details["model"] == "default"
    assert set(item.details["fields"]) == {"given_name", "family_name", "street", "city"}
    assert item.details["fields"]["street"]["level"] == "different"
    assert 0.8 <= (item.score or 0) < 0.99


def test_rejected_pairs_are_remembered(store: ProfileStore, make_person: PersonFactory) -> None:
    _a, b = opened(store, make_person)
    (item,) = store.reviews.list()
    store.reviews.reject(item.id, "alice")
    assert store.reviews.list() == [] and store.reviews.list("rejected")[0].decided_by == "alice"
    with pytest.raises(ReviewDecidedError, match="is rejected, not open"):
        store.reviews.approve(item.id, "bob")

    # The same person again from a third source joins b, and is not proposed with a again.
    again = store.save_source_profile(
        make_person("shop", "s", "Jane", "Doe", street="77 Harbour Road"),
        source_system="shop",
        raw="c",
    )
    assert (again.outcome, again.golden_id) == ("merged", b)
    assert store.reviews.list() == []


def test_approve_merges_into_the_older_id_and_the_alias_resolves(
    store: ProfileStore, make_person: PersonFactory, migrated_engine: Engine
) -> None:
    a, b = opened(store, make_person)
    (item,) = store.reviews.list()
    assert store.reviews.approve(item.id, "alice") == a
    assert store.count() == 1
    assert store.resolve_id(b) == a and store.resolve_id(a) == a
    assert store.get(b).id == a
    assert [(r.source_system, r.source_key) for r in store.source_records(b)] == [
        ("crm", "1"),
        ("web", "w"),
    ]
    with migrated_engine.connect() as conn:
        assert set(conn.execute(select(identifier.c.golden_id)).scalars()) == {a}
        assert set(conn.execute(select(match_key.c.golden_id)).scalars()) == {a}
    assert store.reviews.list("approved")[0].id == item.id
    with pytest.raises(NotFoundError):
        store.resolve_id("gp_nothing")


def test_a_merged_alias_follows_a_later_merge(
    store: ProfileStore, make_person: PersonFactory
) -> None:
    a, b = opened(store, make_person)
    c = store.save_source_profile(
        make_person("erp", "x", "Zed", "Other"), source_system="erp", raw="z"
    ).golden_id
    store.merge(c, b, actor="admin")  # b is absorbed into c
    store.merge(a, c, actor="admin")  # then c into a
    assert store.resolve_id(b) == a and store.resolve_id(c) == a
    assert store.reviews.list() == []  # the open a/b item was settled by the merge
    assert store.reviews.list("superseded")[0].decided_by == "merge"


def test_unmerge_recomputes_both_profiles(
    store: ProfileStore, make_person: PersonFactory, migrated_engine: Engine
) -> None:
    erp = store.save_source_profile(
        make_person("erp", "E1", "Ada", "Lovelace", email="ada@example.org"),
        source_system="erp",
        raw="e",
        received_at=T0,
    )
    web = store.save_source_profile(
        make_person("web", "w", "Adah", "Lovelace", email="ada@example.org", phone="020 7123 4567"),
        source_system="web",
        raw="w",
        received_at=T0 + timedelta(minutes=1),
    )
    assert web.golden_id == erp.golden_id and store.get(erp.golden_id).person.given_name == "Adah"  # type: ignore[union-attr]
    web_record = next(r for r in store.source_records(erp.golden_id) if r.source_system == "web")

    new_id = store.unmerge(erp.golden_id, web_record.id, actor="alice")

    old, new = store.get(erp.golden_id), store.get(new_id)
    assert old.person is not None and old.person.given_name == "Ada" and old.phones == ()
    assert old.identifiers == (Identifier("erp", "E1"),)
    assert new.person is not None and new.person.given_name == "Adah" and len(new.phones) == 1
    assert new.identifiers == (Identifier("web", "w"),)
    found = store.find_by_identifier("web", "w")
    assert found is not None and found.id == new_id
    with migrated_engine.connect() as conn:
        versions = dict(conn.execute(select(golden_profile.c.id, golden_profile.c.version)).all())
    assert versions == {erp.golden_id: 3, new_id: 1}
    actions = [e.action for e in AuditLog(migrated_engine).list(limit=50)]
    assert actions[-2:] == ["golden.unmerge", "golden.create"]
    with pytest.raises(ConflictError, match="only record"):
        store.unmerge(new_id, web_record.id)
    with pytest.raises(NotFoundError, match=f"source record of golden profile {erp.golden_id}"):
        store.unmerge(erp.golden_id, web_record.id)  # not found *there*; its owner not named


# --- survivorship and lineage ----------------------------------------------------------------


def test_lineage_says_which_source_and_time_each_field_came_from(
    migrated_engine: Engine, make_person: PersonFactory
) -> None:
    store = ProfileStore(
        migrated_engine,
        IdentityRules(source_priority=("erp",), field_strategy={"person.family_name": "priority"}),
    )
    erp = store.save_source_profile(
        make_person("erp", "E1", "Ada", "Lovelace", email="ada@example.org"),
        source_system="erp",
        raw="e",
        received_at=T0,
    )
    later = T0 + timedelta(hours=1)
    store.save_source_profile(
        # Linked by the ERP key it quotes (its name differs too much for an e-mail match alone).
        make_person("crm", "C1", "Augusta", "Byron", birth=BIRTH, extra_ids=(("erp", "E1"),)),
        source_system="crm",
        raw="c",
        received_at=later,
    )
    golden = store.get(erp.golden_id)
    assert golden.person is not None
    assert (golden.person.given_name, golden.person.family_name, golden.person.birth_date) == (
        "Augusta",
        "Lovelace",
        BIRTH,
    )
    lineage = store.lineage(erp.golden_id)
    assert lineage["person.given_name"] == FieldSource("crm", "C1", later)
    assert lineage["person.family_name"] == ("erp", "E1", T0)
    assert lineage["person.birth_date"] == ("crm", "C1", later)  # erp had none: empty never wins
    with pytest.raises(NotFoundError):
        store.lineage("gp_missing")


def test_an_empty_update_does_not_erase_what_another_source_filled(
    store: ProfileStore, make_person: PersonFactory
) -> None:
    a = store.save_source_profile(
        make_person("erp", "E1", "Ada", "Lovelace", birth=BIRTH, email="ada@example.org"),
        source_system="erp",
        raw="e",
        received_at=T0,
    )
    store.save_source_profile(
        make_person("crm", "C1", "Ada", None, email="ada@example.org"),
        source_system="crm",
        raw="c",
        received_at=T0 + timedelta(minutes=5),
    )
    golden = store.get(a.golden_id)
    assert golden.person is not None and (golden.person.family_name, golden.person.birth_date) == (
        "Lovelace",
        BIRTH,
    )


def test_every_change_is_audited_in_its_transaction(
    store: ProfileStore, make_person: PersonFactory, migrated_engine: Engine
) -> None:
    a, b = opened(store, make_person)
    (item,) = store.reviews.list()
    store.reviews.approve(item.id, "alice")
    entries = AuditLog(migrated_engine).list(limit=50)
    assert [(e.action, e.golden_id) for e in entries] == [
        ("golden.create", a),
        ("golden.create", b),
        ("review.open", b),
        ("golden.merge", a),
        ("review.approve", a),
    ]
    merge = entries[3]
    assert merge.detail["absorbed_id"] == b and merge.detail["review_item_id"] == item.id
    assert merge.actor == "alice"


def test_a_save_failure_leaves_no_review_item_behind(
    store: ProfileStore, make_person: PersonFactory, migrated_engine: Engine
) -> None:
    from tests.store.test_profiles import failing_statement  # the real-driver failure helper

    store.save_source_profile(
        make_person("crm", "1", "Jane", "Doe", street="3 Mill Lane"),
        source_system="crm",
        raw="a",
    )
    with failing_statement(migrated_engine, "review_item"), pytest.raises(StoreError):
        store.save_source_profile(
            make_person("web", "w", "Jane", "Doe", street="77 Harbour Road"),
            source_system="web",
            raw="b",
        )
    assert store.count() == 1 and count(migrated_engine, source_record) == 1
