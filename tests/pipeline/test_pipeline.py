"""The pipeline on files: outcomes, outbox in the same transaction, quarantine, idempotency,
the record-by-record fallback when the database refuses one record (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from gateway.pipeline.files import import_file
from gateway.pipeline.outbox import list_events
from gateway.pipeline.quarantine import Quarantine
from gateway.pipeline.tables import quarantine_record
from gateway.runtime import Gateway
from gateway.store.engine import write_transaction
from tests.pipeline.conftest import counts, envelope, profile


def write(tmp_path: Path, text: str, name: str = "batch.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_each_record_gets_an_outcome_and_each_change_an_event(
    gateway: Gateway, tmp_path: Path
) -> None:
    batch = write(tmp_path, envelope([
        profile("1", "Smith", email="ann.smith@example.com"),
        profile("2", "Jones"),
        profile("3", "Smyth", email="ann.smith@example.com"),  # same e-mail: merged into 1
        profile("4", "Brown", country="France"),  # not a country code: rejected
    ]))
    report = import_file(gateway, batch)
    assert [o.status for o in report.outcomes] == ["created", "created", "merged", "rejected"]
    assert report.outcomes[2].golden_id == report.outcomes[0].golden_id
    rejected = report.outcomes[3]
    assert rejected.stage == "validate" and rejected.code == "schema_invalid"
    assert rejected.errors[0].path == "/Profile/Addresses/Address/Country"
    assert counts(gateway.engine) == {
        "golden": 2, "records": 3, "events": 3, "quarantine": 1, "messages": 1,
    }
    events = list_events(gateway.engine)
    assert [e.kind for e in events] == ["created", "created", "updated"]
    assert events[2].payload["cause"] == {"source_system": "shop", "source_key": "3"}
    assert "Smyth" not in str([e.payload for e in events])  # what changed, never the values


def test_a_resent_message_gets_the_stored_acknowledgement_and_changes_nothing(
    gateway: Gateway, tmp_path: Path
) -> None:
    batch = write(tmp_path, envelope([profile("1", "Smith"), profile("2", "Br", country="x")]))
    first = import_file(gateway, batch)
    before = counts(gateway.engine)
    again = import_file(gateway, batch)
    assert again.replayed and again.acknowledgement() == first.acknowledgement()
    assert counts(gateway.engine) == before
    reprocessed = import_file(gateway, batch, reprocess=True)  # content hash: unchanged
    assert [o.status for o in reprocessed.outcomes] == ["unchanged", "rejected"]
    assert reprocessed.outcomes[1].quarantine_id == first.outcomes[1].quarantine_id
    assert counts(gateway.engine) == before


def test_a_changed_record_is_an_update_with_its_event(gateway: Gateway, tmp_path: Path) -> None:
    import_file(gateway, write(tmp_path, envelope([profile("1", "Smith")], message_id="a")))
    report = import_file(gateway, write(tmp_path, envelope([profile("1", "Smithe")],
                                                           message_id="b")))
    assert [o.status for o in report.outcomes] == ["updated"]
    assert [e.kind for e in list_events(gateway.engine)] == ["created", "updated"]


def test_a_record_the_database_refuses_is_quarantined_and_the_others_stored(
    gateway: Gateway, migrated_engine: Engine, tmp_path: Path
) -> None:
    refuse_source_key(migrated_engine, "13")
    # Twenty people: names a match model cannot take for one another.
    families = [
        "Adams", "Baker", "Clarke", "Dawson", "Evans", "Fletcher", "Gray", "Hughes", "Irwin",
        "Jackson", "Knight", "Lowe", "Murphy", "Norris", "Owens", "Palmer", "Quinn", "Reeves",
        "Sutton", "Turner",
    ]
    records = [profile(str(i), families[i - 1]) for i in range(1, 21)]
    report = import_file(gateway, write(tmp_path, envelope(records)), chunk_size=8)
    statuses = {o.index: o.status for o in report.outcomes}
    assert statuses.pop(13) == "rejected"
    assert set(statuses.values()) == {"created"}
    bad = report.outcomes[12]
    assert bad.stage == "store" and bad.code == "store_error"
    assert counts(gateway.engine)["records"] == 19
    assert counts(gateway.engine)["events"] == 19
    entry = Quarantine(gateway).get(bad.quarantine_id or 0)
    assert entry.stage == "store" and 'key="13"' in (entry.raw or "")


def test_quarantine_retry_uses_the_fixed_mapping(
    gateway: Gateway, tmp_path: Path
) -> None:
    mapping = gateway.mappings.path("cpex-in")
    text = mapping.read_text(encoding="utf-8")
    fixed = text.replace("name: cpex-in", "name: shop-in")
    broken = fixed.replace(  # every identifier of another system: no key for "shop"
        '{target: system, source: "@system"}', '{target: system, value: "other"}'
    )
    assert broken != fixed
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "shop-in.yaml").write_text(broken, encoding="utf-8")
    gateway.settings = gateway.settings.model_copy(
        update={"paths": gateway.settings.paths.model_copy(update={"mappings": str(folder)})}
    )
    gateway.__dict__.pop("mappings", None)
    batch = write(tmp_path, envelope([profile("1", "Smith")]))  # with a header: the XSD needs one
    report = import_file(gateway, batch, source_system="shop", mapping="shop-in")
    (outcome,) = report.outcomes
    assert outcome.status == "rejected" and outcome.stage == "map"
    quarantine = Quarantine(gateway)
    entry_id = outcome.quarantine_id or 0
    assert quarantine.retry(entry_id).status == "rejected"  # not fixed yet: still open
    assert quarantine.get(entry_id).status == "open"

    (folder / "shop-in.yaml").write_text(fixed, encoding="utf-8")
    retried = quarantine.retry(entry_id, actor="ops")
    assert retried.status == "created"
    entry = quarantine.get(entry_id)
    assert (entry.status, entry.decided_by) == ("retried", "ops")
    assert entry.golden_id == retried.golden_id
    assert [e.id for e in quarantine.list()] == []
    assert counts(gateway.engine)["events"] == 1


def test_discard_closes_an_entry(gateway: Gateway, tmp_path: Path) -> None:
    report = import_file(gateway, write(tmp_path, envelope([profile("1", "X", country="x")])))
    quarantine = Quarantine(gateway)
    entry_id = report.outcomes[0].quarantine_id or 0
    quarantine.discard(entry_id, actor="ops")
    assert quarantine.get(entry_id).status == "discarded"
    assert quarantine.list() == [] and len(quarantine.list("discarded")) == 1


def test_memory_stays_flat_because_outcomes_are_not_kept(gateway: Gateway, tmp_path: Path) -> None:
    batch = write(tmp_path, envelope([profile(str(i), f"N{i}") for i in range(1, 51)]))
    report = import_file(gateway, batch, keep_outcomes=False, chunk_size=7)
    assert report.outcomes == [] and report.counts["created"] == 50
    assert report.acknowledgement()["complete"] is False


def refuse_source_key(engine: Engine, key: str) -> None:
    """A real database refusal for one record: a trigger that aborts its insert."""
    with write_transaction(engine) as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON source_record "
                f"WHEN NEW.source_key = '{key}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.source_key = '{key}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON source_record "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    with engine.connect() as conn:
        assert conn.execute(select(quarantine_record.c.id)).first() is None
