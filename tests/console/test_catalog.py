"""The data dictionary, from the live mappings and partner files: the CLI and the console."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from playwright.sync_api import Page, expect

from gateway.cli import cli
from tests.cli.conftest import REPO
from tests.console.conftest import Site, shoot, sign_in


def test_catalog_json_says_what_feeds_a_field_and_who_receives_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    result = CliRunner().invoke(cli, ["catalog", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    fields = {f["path"]: f for f in document["fields"]}
    assert len(fields) >= 15
    emails = fields["emails"]
    assert emails["category"] == "contact"
    assert {"acme-in", "cpex-in"} <= set(emails["written_by"])
    assert "acme-out" in emails["read_by"]
    assert [r["partner"] for r in emails["received_by"]] == ["acme"]
    assert fields["person.birth_date"]["received_by"] == []  # demographic: nobody's policy
    gender = {r["partner"] for r in fields["person.gender"]["received_by"]}
    assert gender == {"persona"}
    partners = {p["id"]: p for p in document["partners"]}
    assert partners["acme"]["outbound"]["endpoint"] and partners["acme"]["operations"]
    text = CliRunner().invoke(cli, ["catalog"])
    assert "emails  [contact]" in text.output and "received by: acme" in text.output


def test_the_console_shows_a_mapping_change_in_the_dictionary(page: Page, served: Site) -> None:
    sign_in(page, served, served.monitor_key)
    page.get_by_role("link", name="Data dictionary").click()
    page.get_by_label("Field").fill("phones")
    page.get_by_role("button", name="Show").click()
    row = page.locator("#field-phones")
    expect(row).to_contain_text("acme-in")
    expect(row.locator(".received")).to_contain_text("acme (current, contact)")
    shoot(page, "catalog")

    # acme-in stops writing phones: the dictionary says so at once (built from the live set).
    admin = served.gateway.mapping_admin
    text = admin.mappings.text("acme-in")
    lines = text.splitlines(keepends=True)
    start = next(i for i, x in enumerate(lines) if x.strip().startswith("- target: phones"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent
    )
    admin.save("acme-in", "".join(lines[:start] + lines[end:]), author="test")
    page.reload()
    expect(page.locator("#field-phones")).not_to_contain_text("acme-in")
    page.get_by_label("Received by").select_option("persona")
    page.get_by_label("Field").fill("")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#field-phones")).to_have_count(0)
    expect(page.locator("#field-person-gender")).to_be_visible()
