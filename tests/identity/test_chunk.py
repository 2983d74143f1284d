"""A chunk saved at once (``save_many``) ends in exactly the state of the same records saved
one by one (``save_in_transaction``): results, golden documents, versions, lineage, identifiers,
consents, match keys, review items and the audit log in its order (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, select

from gateway.identity import golden
from gateway.model import Consent, Profile
from gateway.model.profile import ConsentStatus, Purpose, Recipient
from gateway.store import chunk, profiles
from gateway.store.engine import write_transaction
from gateway.store.profiles import IncomingRecord, ProfileStore, SaveResult, prepare_record
from gateway.store.tables import (
    audit_log,
    consent,
    golden_alias,
    golden_profile,
    identifier,
    match_key,
    match_rejection,
    review_item,
    source_record,
)
from tests.identity.conftest import PersonFactory
from tests.pipeline.conftest import load_generator

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Saver = Callable[[Connection, ProfileStore, list[IncomingRecord]], list[SaveResult]]


@pytest.fixture
def restart(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Golden ids from a counter; calling the fixture's value starts it again, so two runs that
    create profiles in the same order give them the same ids."""
    counter = [itertools.count(1)]

    def new_id() -> str:
        return f"gp_{next(counter[0]):032x}"

    def again() -> None:
        counter[0] = itertools.count(1)

    for module in (profiles, chunk, golden):
        monkeypatch.setattr(module, "new_golden_id", new_id)
    return again


def one_by_one(
    conn: Connection, store: ProfileStore, records: list[IncomingRecord]
) -> list[SaveResult]:
    return [
        store.save_in_transaction(
            conn,
            r.profile,
            source_system=r.source_system,
            raw=r.raw,
            received_at=r.received_at,
            actor=r.actor,
        )
        for r in records
    ]


def at_once(
    conn: Connection, store: ProfileStore, records: list[IncomingRecord]
) -> list[SaveResult]:
    return store.save_many(conn, records)


def incoming(profile: Profile, system: str, at: datetime) -> IncomingRecord:
    return prepare_record(
        profile, system, f"<raw {system}/{profile.identifiers[0].key}/>", at, "test"
    )


def run(
    engine: Engine, seed: list[IncomingRecord], records: list[IncomingRecord], saver: Saver
) -> dict[str, Any]:
    wipe(engine)
    store = ProfileStore(engine)
    with write_transaction(engine) as conn:
        one_by_one(conn, store, seed)
    with write_transaction(engine) as conn:
        results = saver(conn, store, records)
    state = snapshot(engine)
    key_of = state.pop("key_of")
    return {
        "results": [
            {
                **dataclasses.asdict(r),
                "source_record_id": key_of.get(r.source_record_id or 0),
                "review_ids": len(r.review_ids),
            }
            for r in results
        ],
        **state,
    }


def snapshot(engine: Engine) -> dict[str, Any]:
    g, s, m, i, c = golden_profile.c, source_record.c, match_key.c, identifier.c, consent.c
    with engine.connect() as conn:
        key_of = {
            row.id: (row.source_system, row.source_key)
            for row in conn.execute(select(s.id, s.source_system, s.source_key))
        }

        def rows(query: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(query)]

        review = review_item.c
        return {
            "key_of": key_of,
            "goldens": rows(
                select(
                    g.id, g.version, g.display_name, g.document, g.content_hash, g.lineage
                ).order_by(g.id)
            ),
            "records": rows(
                select(
                    s.source_system,
                    s.source_key,
                    s.golden_id,
                    s.content_hash,
                    s.document,
                    s.raw,
                    s.received_at,
                ).order_by(s.source_system, s.source_key)
            ),
            "keys": sorted(
                (r.key, key_of[r.source_record_id], r.golden_id)
                for r in conn.execute(select(m.key, m.source_record_id, m.golden_id))
            ),
            "identifiers": rows(select(i.system, i.key, i.golden_id).order_by(i.system, i.key)),
            "consents": sorted(
                rows(select(c.golden_id, c.purpose, c.recipient, c.status, c.given_at, c.source))
            ),
            "audit": [
                (r.actor, r.action, r.golden_id, r.fields, _without_ids(r.detail))
                for r in conn.execute(select(audit_log).order_by(audit_log.c.id))
            ],
            "reviews": [
                (
                    r.golden_id,
                    r.candidate_id,
                    key_of.get(r.source_record_id),
                    r.score,
                    r.details,
                    r.status,
                )
                for r in conn.execute(select(review_item).order_by(review.id))
            ],
        }


def _without_ids(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k != "review_item_id"}


def wipe(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        for table in (
            review_item,
            match_rejection,
            audit_log,
            consent,
            match_key,
            identifier,
            source_record,
            golden_alias,
            golden_profile,
        ):
            conn.execute(delete(table))


def equivalent(
    engine: Engine,
    seed: list[IncomingRecord],
    records: list[IncomingRecord],
    restart: Callable[[], None],
    saver: Saver = at_once,
) -> dict[str, Any]:
    """Run both ways on the same database (emptied in between) and compare every part."""
    expected = run(engine, seed, records, one_by_one)
    restart()
    got = run(engine, seed, records, saver)
    for part, rows in expected.items():
        assert len(got[part]) == len(rows), part
        for n, (a, b) in enumerate(zip(got[part], rows, strict=True)):
            assert a == b, (part, n)
    return got


def test_a_chunk_of_every_kind_of_record_ends_as_one_by_one(
    migrated_engine: Engine, make_person: PersonFactory, restart: Callable[[], None]
) -> None:
    jane = {"birth": date(1970, 1, 2), "postcode": "AB1 2CD", "street": "1 High St"}
    consent = Consent(Purpose("contact"), Recipient("ours"), ConsentStatus("granted"), T0)
    seed = [
        incoming(make_person("crm", "s1", "Ann", "Smith", email="ann@example.com"), "crm", T0),
        incoming(make_person("crm", "s2", "Jane", "Doe", **jane), "crm", T0),
        incoming(make_person("crm", "s3", "Bob", "Brown", phone="+447700900001"), "crm", T0),
        incoming(make_person("crm", "s5", "Cy", "Twig", extra_ids=(("loyalty", "L1"),)), "crm", T0),
        incoming(
            make_person("crm", "s6", "Jane", "Doe", birth=date(1970, 1, 2), postcode="ZZ9 9ZZ"),
            "crm",
            T0,
        ),
    ]
    t = [T0 + timedelta(minutes=n) for n in range(30)]
    with_consent = dataclasses.replace(
        make_person("web", "w9", "Ann", "Smith", email="ann@example.com"), consents=(consent,)
    )
    records = [
        incoming(make_person("web", "w1", "Ann", "Smith", email="ANN@example.com"), "web", t[1]),
        incoming(make_person("web", "w2", "Zed", "Zulu", phone="+447700900999"), "web", t[2]),
        incoming(make_person("web", "w3", "Zed", "Zulu", phone="+447700900999"), "web", t[3]),
        incoming(make_person("crm", "s1", "Ann", "Smyth", email="ann@example.com"), "crm", t[4]),
        incoming(make_person("web", "w2", "Zed", "Zoolu", phone="+447700900999"), "web", t[5]),
        incoming(make_person("web", "w2", "Zed", "Zoolu", phone="+447700900999"), "web", t[6]),
        incoming(
            make_person(
                "web",
                "w4",
                "Jane",
                "Doe",
                birth=date(1970, 1, 2),
                postcode="AB1 2CD",
                street="1 High Street",
            ),
            "web",
            t[7],
        ),
        incoming(make_person("web", "w5", "Robert", "Brown", phone="+447700900001"), "web", t[7]),
        incoming(
            make_person("web", "w6", "Jane", "Doe", birth=date(1970, 1, 2), postcode="YY1 1YY"),
            "web",
            t[8],
        ),
        incoming(
            make_person("web", "w7", "Al", "Stone", extra_ids=(("crm", "s3"), ("crm", "s6"))),
            "web",
            t[9],
        ),
        incoming(make_person("crm", "s5", "Cy", "Twig"), "crm", t[10]),
        incoming(
            make_person("web", "w8", "Di", "Moss", extra_ids=(("loyalty", "L1"),)), "web", t[11]
        ),
        incoming(with_consent, "web", t[12]),
        incoming(make_person("web", "w10", "Ann", "Smith", email="ann@example.com"), "web", t[12]),
        incoming(make_person("web", "w11", "Zara", "Quill", email="ann@example.com"), "web", t[13]),
        incoming(make_person("crm", "s2", "Jane", "Doe", **jane), "crm", t[14]),
    ]
    got = equivalent(migrated_engine, seed, records, restart)
    outcomes = [r["outcome"] for r in got["results"]]
    assert {"created", "updated", "merged", "unchanged", "review"} <= set(outcomes), outcomes


def test_generated_near_duplicates_in_small_chunks_end_as_one_by_one(
    migrated_engine: Engine, make_person: PersonFactory, restart: Callable[[], None]
) -> None:
    generator = load_generator()
    people = list(generator.records(240, 0.15, 0.35, 5))
    profiles_ = [
        make_person(
            "bench",
            key,
            p.given,
            p.family,
            email=p.email,
            phone=p.phone,
            birth=date.fromisoformat(p.birth),
            street=p.line,
            postcode=p.postcode,
            city=p.city,
        )
        for key, p, _ in people
    ]
    records = [
        incoming(p, "bench", T0 + timedelta(seconds=n // 3)) for n, p in enumerate(profiles_)
    ]
    # Some keys again with other content (updates), and a few resent as they were.
    again = [
        incoming(dataclasses.replace(p, emails=()), "bench", T0 + timedelta(hours=1))
        for p in profiles_[::17]
    ]
    records = records[:120] + again[:4] + records[120:] + again[4:] + records[::29]
    seed, rest = records[:60], records[60:]

    def chunks(
        conn: Connection, store: ProfileStore, batch: list[IncomingRecord]
    ) -> list[SaveResult]:
        return [
            r
            for start in range(0, len(batch), 37)
            for r in store.save_many(conn, batch[start : start + 37])
        ]

    got = equivalent(migrated_engine, seed, rest, restart, chunks)
    assert len({r["golden_id"] for r in got["results"]}) < len(rest)


def test_a_golden_profile_changed_by_another_writer_mid_chunk_is_read_again(
    migrated_engine: Engine, make_person: PersonFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay works from what it read; a version changed before the lock sends it round
    again, so the change it writes builds on the other writer's."""
    store = ProfileStore(migrated_engine)
    first = store.save_source_profile(
        make_person("crm", "1", "Ann", "Smith", email="ann@example.com"),
        source_system="crm",
        raw="a",
    )
    replay = chunk._Chunk.replay
    calls: list[int] = []

    def interfering(self: Any) -> None:
        replay(self)
        calls.append(1)
        if len(calls) == 1:  # another writer commits a new version meanwhile
            self.conn.execute(
                golden_profile.update()
                .where(golden_profile.c.id == first.golden_id)
                .values(version=golden_profile.c.version + 1)
            )

    monkeypatch.setattr(chunk._Chunk, "replay", interfering)
    record = incoming(make_person("web", "w", "Ann", "Smith", email="ann@example.com"), "web", T0)
    with write_transaction(migrated_engine) as conn:
        (result,) = store.save_many(conn, [record])
    assert len(calls) == 2
    assert result.outcome == "merged" and result.golden_id == first.golden_id
    assert [c.version for c in result.changes] == [3]  # 1, the other writer's 2, then ours
    assert store.version_of(first.golden_id) == (first.golden_id, 3)
