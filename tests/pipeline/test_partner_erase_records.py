"""An erase record from a partner source (a mapping's ``do: erase``) obeys the partner trust
rule like the exchange's erase: it removes only the partner's own records of the person and
files an erasure request for the rest (docs/privacy.md#partner-trust)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select

from gateway.delivery.erasure_requests import ErasureRequests
from gateway.model import Person
from gateway.pipeline.files import import_file
from gateway.runtime import Gateway
from gateway.store.tables import source_record
from tests.pipeline.test_operations import shop, shop_file  # noqa: F401  (the fixture)

PARTNER = "partner:shopfront"


def test_a_partner_erase_record_erases_only_its_own_records(
    shop: Gateway, tmp_path: Path,  # noqa: F811  (the fixture)
) -> None:
    folder = shop.settings.path("mappings")
    (folder / "shop-in.yaml").write_text(
        (folder / "shop-in.yaml").read_text().replace(
            "{target: system, value: shop}", "{target: system, runtime: source_system}"),
        encoding="utf-8")
    shop.mappings.reload()
    first = shop_file(tmp_path / "day1.xml", '<customer no="1"><last>Berg</last></customer>')
    (created,) = import_file(shop, first, source_system=PARTNER, mapping="shop-in").outcomes
    golden_id = created.golden_id
    assert golden_id is not None
    # an admin corrects the person: now the profile holds data of another source too
    current = shop.profiles.get(golden_id)
    _, version = shop.profiles.version_of(golden_id)
    corrected = dataclasses.replace(current, person=Person(given_name="Inga", family_name="Berg"))
    shop.profiles.edit(golden_id, corrected, expected_version=version)

    second = shop_file(tmp_path / "day2.xml", '<customer no="1" mode="delete"/>')
    (erased,) = import_file(shop, second, source_system=PARTNER, mapping="shop-in").outcomes
    assert erased.status == "erased"
    with shop.engine.connect() as conn:
        systems = conn.execute(select(source_record.c.source_system)
                               .where(source_record.c.golden_id == golden_id)).scalars().all()
    assert systems == ["gateway-admin"]  # the partner's record went, the admin's stayed
    person = shop.profiles.get(golden_id).person
    assert person is not None and person.given_name == "Inga"
    (request,) = ErasureRequests(shop.engine).list()
    assert (request.golden_id, request.partner) == (golden_id, "shopfront")
