"""Record operations chosen by a mapping, through the pipeline on both databases: an erase
record erases the person its source holds, skips and rejects are counted with their reason,
field warnings reach the outcome, and run-time values come from the batch."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from gateway.config import load_settings
from gateway.pipeline.files import import_file
from gateway.pipeline.runner import Batch, Pipeline
from gateway.runtime import Gateway
from gateway.store.tables import golden_profile, source_record
from tests.pipeline.conftest import REPO, counts

SHOP_MAPPING = """
version: 1
name: shop-in
direction: inbound
source:
  format: xml
  namespaces: {s: "urn:example:shop"}
  record: s:customer
target: {format: canonical}
operations:
  - if: {source: "@mode", op: eq, value: delete}
    do: erase
    reason: deleted in the shop
  - if: {source: "@mode", op: eq, value: test}
    do: skip
    reason: test account
  - if: {source: s:last, op: empty}
    do: reject
    reason: no family name
fields:
  - target: identifiers
    fields:
      - {target: system, value: shop}
      - {target: key, source: "@no"}
  - {target: person.family_name, source: s:last}
  - target: person.birth_date
    source: s:born
    transforms: [{date: {from: "%d.%m.%Y"}}]
    on_error: drop_field
  - target: consents
    require: [status]
    fields:
      - {target: purpose, value: contact}
      - {target: recipient, value: ours}
      - target: status
        source: s:news
        transforms: [{when: {op: eq, value: "yes", then: granted, otherwise: denied}}]
      - {target: given, runtime: import_time}
      - {target: source, runtime: file_name}
"""


def shop_file(path: Path, *customers: str) -> Path:
    path.write_text('<customers xmlns="urn:example:shop">\n' + "\n".join(customers)
                    + "\n</customers>\n", encoding="utf-8")
    return path


@pytest.fixture
def shop(migrated_engine: Engine, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway whose mappings folder has the repository's mappings and ``shop-in``."""
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", folder)
    (folder / "shop-in.yaml").write_text(textwrap.dedent(SHOP_MAPPING), encoding="utf-8")
    settings = load_settings(
        REPO / "config" / "gateway.toml", environ={},
        overrides={"database.url": str(migrated_engine.url), "paths.mappings": str(folder)},
    )
    yield Gateway(settings, _engine=migrated_engine)


def test_upsert_then_delete_erases_and_a_second_delete_answers_the_same(
    shop: Gateway, tmp_path: Path,
) -> None:
    first = shop_file(tmp_path / "day1.xml",
                      '<customer no="1"><last>Berg</last><news>yes</news></customer>',
                      '<customer no="2"><last>Holm</last><born>31.02.1980</born></customer>')
    report = import_file(shop, first, source_system="shop", mapping="shop-in")
    assert [o.status for o in report.outcomes] == ["created", "created"]
    (warning,) = report.outcomes[1].warnings
    assert (warning.field, warning.policy) == ("person.birth_date", "drop_field")
    assert report.acknowledgement()["results"][1]["warnings"][0]["field"] == "person.birth_date"
    berg = report.outcomes[0].golden_id
    consent = shop.profiles.get(berg).consents[0]
    assert consent.source == "day1.xml" and consent.given.tzinfo is not None

    second = shop_file(tmp_path / "day2.xml",
                       '<customer no="1" mode="delete"/>',
                       '<customer no="2" mode="test"><last>Holm</last></customer>',
                       '<customer no="3"/>',
                       '<customer no="9" mode="delete"/>')
    report = import_file(shop, second, source_system="shop", mapping="shop-in")
    assert [(o.status, o.reason) for o in report.outcomes] == [
        ("erased", "deleted in the shop"), ("skipped", "test account"),
        ("rejected", "no family name"), ("erased", "deleted in the shop")]
    assert report.outcomes[2].code == "record_rejected"
    assert report.acknowledgement()["reasons"] == {"rejected: no family name": 1,
                                                   "skipped: test account": 1}
    assert report.acknowledgement()["counts"]["erased"] == 2
    with shop.engine.connect() as conn:
        erased = conn.execute(select(golden_profile.c.erased)
                              .where(golden_profile.c.id == berg)).scalar_one()
        keys = conn.execute(select(source_record.c.source_key)).scalars().all()
    assert erased is True and sorted(keys) == ["2"]
    again = import_file(shop, second, source_system="shop", mapping="shop-in")
    assert [o.status for o in again.outcomes] == ["erased", "skipped", "rejected", "erased"]


def test_delete_then_upsert_in_one_file_keeps_file_order(shop: Gateway, tmp_path: Path) -> None:
    import_file(shop, shop_file(tmp_path / "a.xml", '<customer no="5"><last>Alt</last>'
                                "</customer>"), source_system="shop", mapping="shop-in")
    report = import_file(shop, shop_file(
        tmp_path / "b.xml", '<customer no="5" mode="delete"/>',
        '<customer no="5"><last>Neu</last></customer>'), source_system="shop",
        mapping="shop-in")
    assert [o.status for o in report.outcomes] == ["erased", "created"]
    profile = shop.profiles.get(report.outcomes[1].golden_id)
    assert profile.person.family_name == "Neu"


def test_a_source_cannot_erase_a_person_it_holds_no_record_of(
    shop: Gateway, tmp_path: Path,
) -> None:
    """Another system's key with the same value is not this source's record."""
    created = import_file(shop, shop_file(tmp_path / "a.xml", '<customer no="7"><last>Ott</last>'
                                          "</customer>"), source_system="shop",
                          mapping="shop-in")
    before = counts(shop.engine)
    report = import_file(shop, shop_file(tmp_path / "b.xml", '<customer no="7" mode="delete"/>'),
                         source_system="crm", mapping="shop-in")
    # the mapping writes system 'shop', so a 'crm' batch has no key of its own: refused
    assert report.outcomes[0].status == "rejected"
    assert "needs its identifier for source system 'crm'" in report.outcomes[0].errors[0].message
    assert counts(shop.engine)["golden"] == before["golden"]
    assert shop.profiles.get(created.outcomes[0].golden_id).person.family_name == "Ott"


def test_rows_take_the_same_operations(shop: Gateway, tmp_path: Path) -> None:
    folder = shop.settings.path("mappings")
    (folder / "rows-in.yaml").write_text(textwrap.dedent("""
        version: 1
        name: rows-in
        direction: inbound
        source: {format: csv, columns: [NO, OP, NAME]}
        target: {format: canonical}
        operations:
          - {if: {source: OP, op: eq, value: D}, do: erase}
          - {if: {source: OP, op: eq, value: S}, do: skip, reason: suspended}
        fields:
          - target: identifiers
            fields:
              - {target: system, value: erp}
              - {target: key, source: NO}
          - {target: person.family_name, source: NAME}
        """), encoding="utf-8")
    shop.mappings.reload()
    pipeline = Pipeline(shop, Batch("erp", "rows.csv", mapping="rows-in", file_name="rows.csv"))
    rows = [{"NO": "1", "OP": "", "NAME": "Berg"}, {"NO": "2", "OP": "S", "NAME": "X"}]
    report = pipeline.run_decoded(pipeline.decoder.row(r, i) for i, r in enumerate(rows, 1))
    assert [o.status for o in report.outcomes] == ["created", "skipped"]
    pipeline = Pipeline(shop, Batch("erp", "rows.csv", mapping="rows-in"))
    report = pipeline.run_decoded([pipeline.decoder.row({"NO": "1", "OP": "D"}, 1)])
    assert [o.status for o in report.outcomes] == ["erased"]
    assert counts(shop.engine)["records"] == 0
