"""The match model against the base: training stores a version that matching then uses, the
model shows in merges and review items, re-scoring settles the queue, identity.toml is checked
(SQLite and PostgreSQL for the store; the CLI on SQLite as an operator runs it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.cli import main
from gateway.config_identity import SHIPPED, load_identity_file
from gateway.errors import ConfigError
from gateway.identity import IdentityRules
from gateway.resolution import models
from gateway.store.profiles import ProfileStore
from gateway.store.tables import audit_log
from tests.cli.conftest import REPO
from tests.identity.conftest import PersonFactory
from tests.identity.test_quality import population

BENCH = REPO / "bench"


def test_training_stores_a_version_that_matching_then_uses(
    store: ProfileStore, make_person: PersonFactory, migrated_engine: Engine
) -> None:
    people, duplicates = population()
    for truth in people:
        store.save_source_profile(truth.profile, source_system="crm", raw="x")
    for truth in duplicates:
        store.save_source_profile(truth.profile, source_system="web", raw="x")
    version, trained = models.train_model(store, actor="alice")
    assert version == 1 and trained.records == len(people) + len(duplicates)
    assert trained.converged and 0 < trained.model.prior < 0.01
    stored = models.model_version(store)
    assert stored.version == 1 and stored.actor == "alice"
    assert set(stored.parameters["levels"]) >= {"given_name", "family_name", "birth_date"}
    assert "family_name" in stored.term_frequencies

    a = store.save_source_profile(
        make_person("erp", "1", "Augusta", "Byron", street="3 Mill Lane", postcode="N1 1AA"),
        source_system="erp",
        raw="a",
    )
    b = store.save_source_profile(
        make_person("web", "1", "Augusta", "Byron", street="3 Mill Lane", postcode="N1 1AA"),
        source_system="web",
        raw="b",
    )
    assert (b.outcome, b.golden_id) == ("merged", a.golden_id)
    assert b.match is not None and b.match["model"] == "v1"
    with migrated_engine.connect() as conn:
        actions = list(conn.execute(select(audit_log.c.action, audit_log.c.detail)))
    assert any(a == "identity.train" and d["model_version"] == 1 for a, d in actions)
    merge_detail = [d for a, d in actions if a == "golden.update" and "match" in (d or {})]
    assert merge_detail[-1]["match"]["fields"]["given_name"] == {
        "level": "exact",
        "weight": pytest.approx(b.match["fields"]["given_name"]["weight"]),  # type: ignore[index]
    }


def test_no_version_is_a_clear_not_found(store: ProfileStore) -> None:
    from gateway.errors import NotFoundError

    with pytest.raises(NotFoundError, match="match model version"):
        models.model_version(store)


def _review_pair(store: ProfileStore, make_person: PersonFactory) -> int:
    store.save_source_profile(
        make_person("crm", "1", "Jane", "Doe", street="3 Mill Lane"), source_system="crm", raw="a"
    )
    b = store.save_source_profile(
        make_person("web", "w", "Jane", "Doe", street="77 Harbour Road"),
        source_system="web",
        raw="b",
    )
    assert b.outcome == "review"
    return b.review_ids[0]


def test_rescore_merges_items_now_above_the_merge_band(
    migrated_engine: Engine, make_person: PersonFactory
) -> None:
    item = _review_pair(ProfileStore(migrated_engine), make_person)
    lenient = ProfileStore(migrated_engine, IdentityRules(merge_threshold=0.9))
    done = models.rescore(lenient)
    assert (done.merged, done.closed, done.kept) == (1, 0, 0)
    assert lenient.reviews.get(item).status == "approved"
    assert lenient.reviews.get(item).decided_by == "identity-rescore"
    assert lenient.count() == 1
    assert models.rescore(lenient) == models.Rescored(0, 0, 0)  # twice: nothing left


def test_rescore_closes_items_now_below_the_review_band(
    migrated_engine: Engine, make_person: PersonFactory
) -> None:
    item = _review_pair(ProfileStore(migrated_engine), make_person)
    strict = ProfileStore(migrated_engine, IdentityRules(review_threshold=0.97))
    assert models.rescore(strict) == models.Rescored(0, 1, 0)
    assert strict.reviews.get(item).status == "rejected"
    assert strict.count() == 2
    with migrated_engine.connect() as conn:
        actions = [a for (a,) in conn.execute(select(audit_log.c.action))]
    assert "review.reject" in actions


def test_explain_names_each_field_and_refuses_an_unknown_profile(
    store: ProfileStore, make_person: PersonFactory
) -> None:
    a = store.save_source_profile(
        make_person("crm", "1", "Jane", "Doe", street="3 Mill Lane"), source_system="crm", raw="a"
    ).golden_id
    b = store.save_source_profile(
        make_person("web", "w", "Jayne", "Doe", street="9 Other Road"), source_system="web", raw="b"
    ).golden_id
    assert a != b
    found = models.explain(store, a, b)
    assert found.level("given_name") in ("jw92", "jw85") and found.level("street") == "different"
    assert found.match_weight == pytest.approx(
        found.prior_weight + sum(f.weight for f in found.fields.values())
    )
    from gateway.errors import NotFoundError

    with pytest.raises(NotFoundError):
        models.explain(store, a, "gp_nothing")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("[comparisons.phone]", "[comparisons.telepathy]"), "comparisons"),
        (
            ("different = { m = 0.40, u = 0.99999 }", "different = { m = 0.40, u = 0.5 }"),
            "comparisons",
        ),
        (('"postcode+initial",', '"postcode+shoe_size",'), "blocking"),
        (("version = 1", "version = 1\ncolour = 3"), "colour"),
    ],
)
def test_identity_file_mistakes_name_the_file_and_key(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    text = SHIPPED.read_text()
    assert change[0] in text
    bad = tmp_path / "identity.toml"
    bad.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as info:
        load_identity_file(bad)
    assert str(bad) in str(info.value) and key in str(info.value)


def test_serve_refuses_a_broken_identity_file(
    sqlite_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "identity.toml"
    bad.write_text(
        SHIPPED.read_text().replace(
            "probability_two_random_records_match = 0.0001",
            "probability_two_random_records_match = 2",
        )
    )
    monkeypatch.setenv("CPEX_IDENTITY_FILE", str(bad))
    assert main(["db", "upgrade"]) == 0
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "identity.toml" in err and "probability_two_random_records_match" in err


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", f"sqlite:///{db}")
    return db


def test_the_identity_commands_as_an_operator_runs_them(
    sqlite_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    sys.path.insert(0, str(BENCH))
    import generate_batch

    batch = tmp_path / "batch.xml"
    generate_batch.write(batch, 400, 0.05, 0.15, 3)
    truth = batch.with_name(batch.name + ".truth.json")
    assert main(["db", "upgrade"]) == 0
    assert main(["import", str(batch)]) == 0
    capsys.readouterr()

    assert main(["identity", "model"]) == 2
    assert "match model version" in capsys.readouterr().err

    assert main(["identity", "train"]) == 0
    assert capsys.readouterr().out.startswith("model v1: 400 records")
    assert main(["identity", "model", "1"]) == 0
    shown = capsys.readouterr().out
    assert "birth_date:" in shown and "m " in shown and "term frequencies of family_name" in shown
    assert main(["identity", "model", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1

    store = ProfileStore(__import__("sqlalchemy").create_engine(f"sqlite:///{sqlite_env}"))
    a, b = store.list_ids(limit=2)
    store.engine.dispose()
    assert main(["identity", "explain", a, b]) == 0
    out = capsys.readouterr().out
    assert out.startswith("model v1") and "prior" in out and "probability" in out
    assert main(["identity", "explain", a, "gp_nothing"]) == 2
    assert "gp_nothing" in capsys.readouterr().err

    assert main(["identity", "rescore"]) == 0
    assert "left open" in capsys.readouterr().out

    assert main(["identity", "blocking-report", str(batch), "--truth", str(truth)]) == 0
    report = capsys.readouterr().out.splitlines()
    assert report[0] == "400 records"
    assert any(line.strip().startswith("all rules") and "true pairs" in line for line in report)
    assert main(["identity", "blocking-report", str(batch), "--truth", str(batch)]) == 2
    assert "truth file" in capsys.readouterr().err
