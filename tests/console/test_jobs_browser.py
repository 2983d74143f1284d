"""Jobs in the browser: run now (queued for the scheduler), pause, resume, run history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from gateway.store.tables import job_run
from scheduler.service import JobsService
from tests.console.conftest import Site, shoot, sign_in


def test_run_now_pause_resume_and_history(
    page: Page, served: Site, browser_errors: list[str]
) -> None:
    sign_in(page, served)
    page.get_by_role("link", name="Jobs", exact=True).click()
    row = page.locator("#job-audit-purge")
    expect(row.locator(".state")).to_have_text("scheduled")
    shoot(page, "jobs")
    row.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("audit-purge: run")
    with served.engine.connect() as conn:
        queued = conn.execute(select(job_run.c.job, job_run.c.status)).all()
    assert [tuple(r) for r in queued] == [("audit-purge", "queued")]

    page.locator("#job-audit-purge").get_by_role("button", name="Pause").click()
    expect(page.locator("#job-audit-purge .state")).to_have_text("paused")
    page.locator("#job-audit-purge").get_by_role("button", name="Resume").click()
    expect(page.locator("#job-audit-purge .state")).to_have_text("scheduled")

    page.get_by_role("link", name="audit-purge").click()
    expect(page.locator("#runs")).to_contain_text("queued")
    assert browser_errors == []


def test_run_history_by_status_and_day(page: Page, served: Site) -> None:
    service = JobsService(served.gateway)
    first, second = service.queue("audit-purge"), service.queue("audit-purge")
    with served.engine.begin() as conn:
        conn.execute(
            update(job_run)
            .where(job_run.c.id == first.id)
            .values(status="failed", error="database locked")
        )
    sign_in(page, served)
    page.goto(f"{served.url}/console/jobs/audit-purge")
    expect(page.locator("#runs tbody tr")).to_have_count(2)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs")).to_contain_text("database locked")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Queued from (day)").fill(tomorrow)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#runs")).to_contain_text("No runs yet")
    assert second.id
