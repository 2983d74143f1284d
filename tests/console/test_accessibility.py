"""Accessibility basics on every screen: labelled inputs, no page wider than the window at 1280
and 800 px, and the review screen operated by keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from gateway.store.tables import review_item
from tests.console.conftest import Site, sign_in, submit
from tests.console.test_review_browser import near_matches
from tests.pipeline.conftest import profile

UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')]
  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML.slice(0, 80))"""
TOO_WIDE = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("width", [1280, 800])
def test_every_screen_is_labelled_and_fits(page: Page, served: Site, width: int) -> None:
    (bad,) = submit(served, [profile("9", "Quinn", country="zz")], "a11y-q")
    near_matches(served)
    with served.engine.connect() as conn:
        item = conn.execute(select(review_item.c.id)).scalars().first()
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, served)
    golden = served.gateway.profiles.list_ids(limit=1)[0]
    screens = [
        "/console/",
        "/console/quarantine",
        f"/console/quarantine/{bad['quarantine_id']}",
        "/console/review",
        f"/console/review/{item}",
        "/console/profiles",
        f"/console/profiles/{golden}",
        "/console/jobs",
        "/console/jobs/audit-purge",
        "/console/partners",
        "/console/partners/acme",
        "/console/mappings",
        "/console/mappings/cpex-in",
        "/console/catalog",
    ]
    for path in screens:
        page.goto(f"{served.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate(UNLABELLED) == [], path
        assert page.evaluate(TOO_WIDE) <= 1, f"{path} is wider than {width} px"
        expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()


def test_review_by_keyboard_alone(page: Page, served: Site) -> None:
    first, *_ = near_matches(served)
    sign_in(page, served)
    page.goto(f"{served.url}/console/review/{first}")
    for _ in range(30):  # Tab through the page to the approve button, then Enter
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        if focused and focused.startswith("Approve"):
            break
    else:
        pytest.fail("the approve button cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(re.compile(rf"item {first} approved"))
