"""Mappings in the browser: line numbers, check as you type with errors at line:col, a broken
text never reaching the running gateway, preview with the trace, diff, save, history, rollback."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from gateway.store.audit import AuditLog
from tests.console.conftest import Site, shoot, sign_in

GOOD_LINE = "{target: given_name, source: c:GivenName}"
BROKEN_LINE = "{target: given_name, source: c:GivenName, transforms: [no_such_transform]}"


def test_a_broken_text_is_refused_and_never_runs(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    admin = served.gateway.mapping_admin
    running = admin.mappings.text("cpex-in")
    on_disk = admin.mappings.path("cpex-in").read_text()
    sign_in(page, served)
    page.get_by_role("link", name="Mappings").click()
    page.get_by_role("link", name="cpex-in", exact=True).click()
    editor = page.get_by_label("Mapping text (YAML)")
    expect(page.locator(".gutter")).to_contain_text("1\n2\n3\n")
    text = editor.input_value()
    broken_at = text.splitlines().index(next(x for x in text.splitlines() if GOOD_LINE in x)) + 1
    editor.fill(text.replace(GOOD_LINE, BROKEN_LINE))  # typing: checked as it changes
    problem = page.locator("#problems a[data-line]").first
    expect(problem).to_have_text(re.compile(rf"line {broken_at}:\d+"))
    expect(page.locator("#problems")).to_contain_text("no_such_transform")
    shoot(page, "mapping-check")
    problem.click()  # the caret goes to the error's line
    caret_line = editor.evaluate("t => t.value.slice(0, t.selectionStart).split('\\n').length")
    assert caret_line == broken_at

    page.get_by_role("button", name="Save").click()
    expect(page.locator("#refused")).to_contain_text("Not saved")
    assert admin.mappings.text("cpex-in") == running
    assert admin.mappings.path("cpex-in").read_text() == on_disk
    assert admin.history.list("cpex-in") == []
    assert browser_errors == []


def test_preview_diff_save_and_roll_back(page: Page, served: Site) -> None:
    admin = served.gateway.mapping_admin
    sign_in(page, served)
    page.goto(f"{served.url}/console/mappings/cpex-in")
    editor = page.get_by_label("Mapping text (YAML)")
    original = editor.input_value()
    edited = "# edited in the console\n" + original
    editor.fill(edited)
    expect(page.locator("#problems")).to_contain_text("no problems")

    page.get_by_role("button", name="Diff against running").click()
    expect(page.locator("#diff .add")).to_have_text(["+# edited in the console"])
    page.get_by_label("Bundled sample").select_option("cpex-profile.xml")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-h")).to_contain_text("sample cpex-profile.xml")
    expect(page.locator(".trace").first).to_contain_text("person.given_name")
    assert admin.mappings.text("cpex-in") == original  # preview and diff save nothing
    shoot(page, "mapping-preview")

    page.get_by_label("Comment").fill("note who edits")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved as version 2")
    assert admin.mappings.text("cpex-in") == edited
    history = page.locator("#history")
    expect(history).to_contain_text("console:alice")
    expect(history).to_contain_text("note who edits")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.get_by_role("status")).to_contain_text("rolled back to version 1")
    assert admin.mappings.text("cpex-in") == original
    assert [v.version for v in admin.history.list("cpex-in")] == [3, 2, 1]
    actions = {e.action for e in AuditLog(served.engine).list() if e.actor == "console:alice"}
    assert {"console.mapping.save", "console.mapping.rollback"} <= actions


def test_monitor_reads_mappings_without_saving(page: Page, served: Site) -> None:
    sign_in(page, served, served.monitor_key)
    page.goto(f"{served.url}/console/mappings/cpex-in")
    expect(page.get_by_label("Mapping text (YAML)")).to_have_attribute("readonly", "")
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    # Reading is not acting: a monitor may preview and diff (nothing is saved by either).
    page.get_by_label("Bundled sample").select_option("cpex-profile.xml")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".trace").first).to_contain_text("person.given_name")
    page.get_by_role("button", name="Diff against running").click()
    expect(page.locator("#diff")).to_have_text("No changes.")
