"""Profiles in the browser: search, sources and lineage, history, unmerge."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.conftest import Site, shoot, sign_in, submit
from tests.pipeline.conftest import profile


def test_search_show_sources_and_unmerge(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    (a,) = submit(served, [profile("1", "Hoffmann", email="h@example.org")], "p-1")
    (b,) = submit(served, [profile("77", "Hoffman", system="crm")], "p-2", sender="crm")
    (c,) = submit(served, [profile("2", "Zeller")], "p-3")
    survivor = served.gateway.profiles.merge(a["id"], b["id"], actor="test")

    sign_in(page, served)
    page.get_by_role("link", name="Profiles").click()
    expect(page.locator("#p-total")).to_have_text("2 profiles")
    page.get_by_label("Name").fill("Zeller")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#p-total")).to_have_text("1 profile")
    expect(page.locator("#profiles")).to_contain_text("Zeller")
    page.get_by_label("Name").fill("")
    page.get_by_label("Email").fill("h@example.org")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#p-total")).to_have_text("1 profile")
    page.locator("#profiles a").first.click()
    expect(page).to_have_url(re.compile(rf"/console/profiles/{survivor}$"))

    records = page.locator("#records tbody tr")
    expect(records).to_have_count(2)
    expect(page.locator("#fields")).to_contain_text("shop:1")  # where each field came from
    expect(page.locator("#identifiers")).to_contain_text("crm:77")
    expect(page.locator("#history")).to_contain_text("merge")
    expect(page.locator("#erp-h + p")).to_contain_text("not delivered")
    shoot(page, "profile")

    page.once("dialog", lambda d: d.accept())
    records.filter(has_text="crm:77").get_by_role("button", name=re.compile("Unmerge")).click()
    expect(page.get_by_role("status")).to_contain_text("a golden profile of its own")
    expect(page.locator("#records tbody tr")).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("console:alice")
    assert c["id"]
    assert browser_errors == []


def test_an_unknown_profile_is_a_clear_404_page(page: Page, served: Site) -> None:
    sign_in(page, served, served.monitor_key)
    answer = page.goto(f"{served.url}/console/profiles/gp_nothing")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_contain_text("gp_nothing")
