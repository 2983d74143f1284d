"""Partners in the browser: keys (issue, rotate, revoke; shown once), dead letters (retry,
replay, retry all)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from gateway.security.credentials import CredentialStore
from gateway.store.audit import AuditLog
from gateway.store.tables import delivery
from tests.console.conftest import Site, shoot, sign_in


def deliveries(site: Site, *statuses: str) -> list[int]:
    now = datetime.now(UTC)
    with site.engine.begin() as conn:
        return [
            conn.execute(
                insert(delivery).returning(delivery.c.id),
                {
                    "golden_id": "gp_x",
                    "partner": "acme",
                    "kind": "profile",
                    "purpose": "tailoring",
                    "message_id": f"m-{i}",
                    "status": status,
                    "attempts": 6,
                    "created_at": now,
                    "available_at": now,
                    "finished_at": now,
                    "last_error": "HTTP 503 from the partner" if status == "dead" else None,
                },
            ).scalar_one()
            for i, status in enumerate(statuses)
        ]


def test_keys_issue_rotate_revoke_with_the_new_key_shown_once(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    sign_in(page, served)
    page.get_by_role("link", name="Partners").click()
    page.get_by_role("link", name="ACME Shop").click()
    expect(page).to_have_url(re.compile(r"/console/partners/acme$"))
    page.get_by_role("button", name="Issue a key").click()
    token = page.locator("#new-key-value").inner_text()
    principal = CredentialStore(served.engine).verify(token)
    assert principal is not None and principal.partner_id == "acme"
    shoot(page, "partner-key")
    page.goto(f"{served.url}/console/partners/acme")
    expect(page.locator("#new-key")).to_have_count(0)  # the key is never shown again
    assert token not in page.content()
    row = page.locator(f"#key-{principal.key_id}")
    expect(row.locator(".state")).to_have_text("active")

    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Rotate").click()
    successor = page.locator("#new-key-value").inner_text()
    assert successor != token and CredentialStore(served.engine).verify(successor)
    assert CredentialStore(served.engine).verify(token)  # the overlap: both work for now
    page.once("dialog", lambda d: d.accept())
    page.locator(f"#key-{principal.key_id}").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text(f"key {principal.key_id} revoked")
    expect(page.locator(f"#key-{principal.key_id} .state")).to_have_text("revoked")
    assert CredentialStore(served.engine).verify(token) is None
    actions = [e.action for e in AuditLog(served.engine).list() if e.actor == "console:alice"]
    assert {
        "console.partner.key_issue",
        "console.partner.key_rotate",
        "console.partner.key_revoke",
    } <= set(actions)
    assert browser_errors == []


def test_dead_letters_retry_replay_and_retry_all(page: Page, served: Site) -> None:
    dead, delivered, dead_too = deliveries(served, "dead", "delivered", "dead")
    sign_in(page, served)
    page.goto(f"{served.url}/console/partners/acme")
    page.get_by_label("Status").select_option("dead")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#deliveries tbody tr")).to_have_count(2)
    expect(page.locator(f"#delivery-{dead}")).to_contain_text("HTTP 503 from the partner")
    shoot(page, "partner-deliveries")
    page.locator(f"#delivery-{dead}").get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text(f"delivery {dead} queued again")
    page.locator(f"#delivery-{delivered}").get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text(f"delivery {delivered} replayed")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Retry every dead letter").click()
    expect(page.get_by_role("status")).to_contain_text("1 dead letters queued again")
    with served.engine.connect() as conn:
        states = dict(conn.execute(select(delivery.c.id, delivery.c.status)).all())
    assert states[dead] == states[dead_too] == "pending"
    assert len(states) == 4  # the replay is a new delivery


def test_monitor_sees_partners_without_key_or_delivery_buttons(page: Page, served: Site) -> None:
    deliveries(served, "dead")
    sign_in(page, served, served.monitor_key)
    page.goto(f"{served.url}/console/partners/acme")
    expect(page.locator("#deliveries")).to_contain_text("HTTP 503")
    expect(page.get_by_role("button", name="Issue a key")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
