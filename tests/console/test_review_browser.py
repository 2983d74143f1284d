"""Match review in the browser: side by side, claim, approve and reject by keyboard, weights."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from gateway.store.audit import AuditLog
from gateway.store.tables import match_rejection, review_item
from tests.console.conftest import Site, shoot, sign_in, submit
from tests.web.test_review_quarantine_api import person


def near_matches(site: Site) -> list[int]:
    submit(site, [person("1", "Jonathan", "Smith", "1980-01-02", "LS1 4AP")], "a")
    # Near matches with another birth date: a person's eye, not an automatic merge.
    submit(site, [person("2", "Jon", "Smith", "1981-07-09", "LS1 4AP")], "b")
    submit(site, [person("3", "John", "Smithson", "1979-11-30", "LS1 4AP")], "c")
    with site.engine.connect() as conn:
        ids = (
            conn.execute(
                select(review_item.c.id)
                .where(review_item.c.status == "open")
                .order_by(review_item.c.id)
            )
            .scalars()
            .all()
        )
    assert len(ids) >= 2, "the near matches should be proposed for review"
    return list(ids)


def test_decide_by_keyboard_with_differences_marked(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    first, second, *_ = near_matches(served)
    sign_in(page, served)
    page.get_by_role("link", name="Match review").click()
    page.get_by_role("link", name=f"#{first}").click()
    pair = page.locator("#pair")
    expect(pair.locator("tr.differs").filter(has_text="person.given_name")).to_have_count(1)
    expect(pair.locator("tr.differs").filter(has_text="person.birth_date")).to_have_count(1)
    expect(pair.locator("tr:not(.differs)").filter(has_text="person.family_name")).to_have_count(1)
    # Items store the model's per-field weights: drawn as a waterfall.
    expect(page.get_by_role("img", name=re.compile("Match weight by field"))).to_be_visible()
    expect(page.locator("#details")).to_contain_text("reason")
    shoot(page, "review")

    page.keyboard.press("c")
    expect(page.get_by_role("status")).to_contain_text(f"item {first} is yours")
    expect(page.locator("#holder")).to_have_text("console:alice")
    # Typing a comment does not trigger the shortcuts; then 'r' (focus out of the field).
    page.get_by_label("Comment (optional)").fill("different people, same street")
    page.locator("h1").click()
    page.keyboard.press("r")
    expect(page.get_by_role("status")).to_contain_text(f"item {first} rejected")
    expect(page).to_have_url(re.compile(rf"/console/review/{second}$"))  # the next item
    with served.engine.connect() as conn:  # "not a match" is remembered
        assert conn.execute(select(match_rejection.c.actor)).scalars().all() == ["console:alice"]
    page.keyboard.press("a")
    expect(page.get_by_role("status")).to_contain_text(f"item {second} approved")

    with served.engine.connect() as conn:
        statuses = dict(conn.execute(select(review_item.c.id, review_item.c.status)).all())
    assert statuses[first] == "rejected" and statuses[second] == "approved"
    entries = [e for e in AuditLog(served.engine).list() if e.action == "console.review.reject"]
    assert entries[0].detail["comment"] == "different people, same street"
    assert browser_errors == []


def test_an_item_claimed_by_another_steward_is_not_decided(page: Page, served: Site) -> None:
    first, *_ = near_matches(served)
    bob = served.app.test_client()
    from gateway.security.credentials import CredentialStore, Role

    token = CredentialStore(served.engine).issue("bob", Role.ADMIN).token
    bob.post("/console/sign-in", data={"key": token})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', bob.get("/console/").text)
    assert csrf
    claimed = bob.post(f"/console/review/{first}/claim", data={"csrf_token": csrf.group(1)})
    assert claimed.status_code == 302

    sign_in(page, served)
    page.goto(f"{served.url}/console/review/{first}")
    expect(page.locator("#holder")).to_have_text("console:bob")
    page.get_by_role("button", name=re.compile("Approve")).click()
    expect(page.get_by_role("alert")).to_contain_text("claimed by console:bob")
    with served.engine.connect() as conn:
        status = conn.execute(
            select(review_item.c.status).where(review_item.c.id == first)
        ).scalar_one()
    assert status == "open"


def test_model_weights_are_drawn_as_a_waterfall(page: Page, served: Site) -> None:
    """An item scored by the Fellegi-Sunter model stores per-field levels and weights."""
    a, b, *_ = near_matches(served)
    with served.engine.begin() as conn:
        row = conn.execute(select(review_item).where(review_item.c.id == a)).mappings().one()
        new_id = conn.execute(
            insert(review_item).returning(review_item.c.id),
            {
                "status": "open",
                "golden_id": row["golden_id"],
                "candidate_id": row["candidate_id"],
                "score": 0.93,
                "created_at": datetime.now(UTC),
                "details": {
                    "reason": "model",
                    "total": 0.93,
                    "match_weight": 3.8,
                    "prior_weight": -12.5,
                    "model": "fs-test",
                    "fields": {
                        "given_name": {"level": "nickname", "weight": 4.1},
                        "family_name": {"level": "exact", "weight": 6.9},
                        "birth_date": {"level": "exact", "weight": 7.2},
                        "postcode": {"level": "different", "weight": -1.9},
                    },
                },
            },
        ).scalar_one()
    sign_in(page, served, served.monitor_key)
    page.goto(f"{served.url}/console/review/{new_id}")
    chart = page.get_by_role("img", name=re.compile("Match weight by field"))
    expect(chart).to_be_visible()
    expect(chart.locator("rect[data-step]")).to_have_count(5)  # prior + 4 fields
    expect(chart.locator("rect.neg")).to_have_count(2)  # the prior and the postcode pull down
    expect(chart).to_contain_text("merge")
    expect(page.locator("#details")).to_contain_text("fs-test")
    # Monitor: no decision buttons, and the shortcuts do nothing.
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    page.keyboard.press("a")
    expect(page.locator("#item-state")).to_contain_text("open")
    shoot(page, "review-weights")
    assert b
