"""Sign-in in a real browser: required for every screen, monitor keys read-only, sign-out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.conftest import Site, shoot, sign_in, submit
from tests.pipeline.conftest import profile


def test_every_screen_needs_sign_in_and_returns_there_after(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    page.goto(f"{served.url}/console/jobs")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=/console/jobs"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "sign-in")
    page.get_by_label("API key").fill("cpex_nothing_here")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.get_by_label("API key").fill(served.admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{served.url}/console/jobs")
    expect(page.get_by_text("alice (admin)")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "cpex_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert served.admin_key not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # the script cannot read the session

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.goto(f"{served.url}/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    assert browser_errors == []


def test_overview_shows_backlogs_jobs_and_the_charts(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    submit(
        served, [profile("1", "Able"), profile("2", "Baker"), profile("3", "C", country="x")], "o-1"
    )
    sign_in(page, served)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#backlog-quarantine")).to_have_text("1")
    intake = page.get_by_role("img", name="Records in per hour")
    expect(intake).to_be_visible()
    expect(intake.locator("rect[data-series=stored]")).to_have_count(1)
    expect(page.get_by_role("img", name="Deliveries finished per hour")).to_be_visible()
    expect(page.locator("#overview-jobs")).to_contain_text("erp-incremental")
    shoot(page, "overview")
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.get_by_role("img", name="Records in per hour (UTC), last 7 days")).to_be_visible()
    assert browser_errors == []


def test_a_tampered_csrf_token_is_refused_and_changes_nothing(page: Page, served: Site) -> None:
    sign_in(page, served)
    page.goto(f"{served.url}/console/jobs")
    row = page.locator("#job-audit-purge")
    row.locator("form", has=page.get_by_role("button", name="Pause")).locator(
        "input[name=csrf_token]"
    ).evaluate("e => { e.value = 'forged' }")
    row.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or stale")
    page.goto(f"{served.url}/console/jobs")
    expect(page.locator("#job-audit-purge .state")).to_have_text("scheduled")


def test_a_form_posted_from_another_site_carries_no_session(page: Page, served: Site) -> None:
    """SameSite=Strict: a page elsewhere that posts to the console gets no session cookie,
    so the action is never run (the browser lands on the sign-in page)."""
    sign_in(page, served)
    evil = served.url.replace("127.0.0.1", "localhost")  # another site to the browser
    page.goto(f"{evil}/health")  # a page of that origin without the console CSP hosts the form
    page.evaluate(
        """url => { const f = document.createElement('form'); f.method = 'post';
        f.action = url + '/console/jobs/audit-purge/pause'; document.body.append(f);
        f.submit(); }""",
        served.url,
    )
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.goto(f"{served.url}/console/jobs")
    expect(page.locator("#job-audit-purge .state")).to_have_text("scheduled")
