"""Quarantine in the browser: filter, the record with its error in place, retry, discard."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from gateway.store.audit import AuditLog
from tests.console.conftest import Site, shoot, sign_in, submit
from tests.pipeline.conftest import profile


def test_filter_show_retry_and_discard(page: Page, served: Site, browser_errors: list[str]) -> None:
    results = submit(
        served,
        [
            profile("1", "Able", country="xx"),
            profile("2", "Baker", country="yy"),
            profile("3", "Cole"),
        ],
        "q-1",
    )
    first, second = (r["quarantine_id"] for r in results[:2])
    sign_in(page, served)
    expect(page.locator("#backlog-quarantine")).to_have_text("2")
    page.get_by_role("link", name="Quarantine", exact=True).click()
    expect(page.locator("#q-total")).to_have_text("2 entries")
    page.get_by_label("Error code").fill("no_such_code")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#q-total")).to_have_text("0 entries")
    page.get_by_label("Error code").fill("schema_invalid")
    page.get_by_label("Source system").fill("shop")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#q-total")).to_have_text("2 entries")
    shoot(page, "quarantine")

    page.get_by_role("link", name=f"#{first}").click()
    expect(page).to_have_url(re.compile(rf"/console/quarantine/{first}$"))
    # The error sits right under the line of the element it is about.
    flagged = page.locator("#record .has-error")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("<cpex:Country>xx</cpex:Country>")
    expect(page.locator("#record .line-error")).to_contain_text("Country")
    shoot(page, "quarantine-entry")

    page.get_by_role("button", name="Retry with the current mapping").click()
    expect(page.get_by_role("status")).to_contain_text("refused again")
    expect(page.locator("#entry-status")).to_have_text("open")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_role("status")).to_contain_text(f"entry {first} discarded")
    expect(page.locator("#entry-status")).to_have_text("discarded")
    expect(page.get_by_role("button", name="Discard")).to_have_count(0)

    page.goto(f"{served.url}/console/quarantine")
    expect(page.locator("#q-total")).to_have_text("1 entry")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Retry all 1 matching").click()
    expect(page.get_by_role("status")).to_contain_text("retried 1: 0 stored, 1 refused again")
    actions = {(e.actor, e.action) for e in AuditLog(served.engine).list()}
    assert {
        ("console:alice", "console.quarantine.discard"),
        ("console:alice", "console.quarantine.retry_matching"),
    } <= actions
    assert second
    assert browser_errors == []


def test_monitor_sees_the_record_without_buttons(page: Page, served: Site) -> None:
    (result,) = submit(served, [profile("1", "Able", country="xx")], "q-2")
    sign_in(page, served, served.monitor_key)
    page.goto(f"{served.url}/console/quarantine/{result['quarantine_id']}")
    expect(page.locator("#record .has-error")).to_have_count(1)
    expect(page.get_by_role("button", name="Discard")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)


def test_fix_the_mapping_preview_the_record_then_retry(page: Page, served: Site) -> None:
    """The issue's flow: a wrong mapping change quarantines a record at the map stage; the
    mapping is rolled back in the console, the fixed mapping previewed on the quarantined
    record, then the record retried."""
    admin = served.gateway.mapping_admin
    good = admin.mappings.text("cpex-in")
    wrong = good.replace('{target: system, source: "@system"}', '{target: system, value: "other"}')
    assert wrong != good
    admin.save("cpex-in", wrong, author="someone", comment="a change that goes wrong")
    (result,) = submit(served, [profile("5", "Dunn")], "q-fix")
    assert result["stage"] == "map"
    entry = result["quarantine_id"]

    sign_in(page, served)
    page.goto(f"{served.url}/console/quarantine/{entry}")
    page.get_by_role("link", name="Edit mapping cpex-in").click()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.get_by_role("status")).to_contain_text("rolled back to version 1")

    page.goto(f"{served.url}/console/quarantine/{entry}")
    page.get_by_role("link", name=re.compile("Preview with mapping cpex-in")).click()
    preview = page.locator(".preview")
    expect(preview).to_contain_text("Maps without errors")
    expect(preview.locator("tr", has_text="identifiers[0].system")).to_contain_text("shop")
    expect(page.locator("#entry-status")).to_have_text("open")  # a preview changes nothing
    shoot(page, "quarantine-preview")
    page.get_by_role("button", name="Retry with the current mapping").click()
    expect(page.get_by_role("status")).to_contain_text(f"entry {entry} retried: created")
    expect(page.locator("#entry-status")).to_have_text("retried")
