"""The console under bad input, repeated and concurrent actions (SQLite and PostgreSQL): a clear
4xx page naming the cause, never a 5xx, never a traceback, nothing half done."""

from __future__ import annotations

import threading

from sqlalchemy import select

from gateway.store.tables import review_item
from tests.console.conftest import Site, signed_in
from tests.console.test_review_browser import near_matches


def test_bad_input_gets_a_clear_page(site: Site) -> None:
    client, csrf = signed_in(site)
    cases = [
        ("get", "/console/mappings/no-such-mapping", {}, 404, "no-such-mapping"),
        ("get", "/console/profiles/gp_nope", {}, 404, "gp_nope"),
        ("get", "/console/quarantine/999", {}, 404, "999"),
        ("get", "/console/jobs/no-such-job", {}, 404, "no-such-job"),
        ("get", "/console/jobs/audit-purge?since=yesterday", {}, 400, "YYYY-MM-DD"),
        ("get", "/console/partners/nobody", {}, 404, "nobody"),
        ("post", "/console/mappings/cpex-in/save", {"text": "x" * 600_000}, 400, "at most"),
        ("post", "/console/mappings/cpex-in/check", {}, 400, "no mapping text"),
        ("post", "/console/mappings/cpex-in/preview", {"text": "version: 1"}, 422, "problem"),
        (
            "post",
            "/console/profiles/gp_nope/unmerge",
            {"source_record_id": "x"},
            400,
            "source_record_id",
        ),
        ("post", "/console/review/999/approve", {}, 404, "999"),
        ("post", "/console/partners/acme/keys/abc/revoke", {}, 404, "abc"),
        ("post", "/console/deliveries/999/retry", {}, 404, "999"),
    ]
    for method, path, form, status, words in cases:
        answer = getattr(client, method)(path, data={"csrf_token": csrf, **form})
        assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
        assert words in answer.text, path
        assert "Traceback" not in answer.text and "sqlalchemy" not in answer.text.lower()
        assert answer.mimetype == "text/html"


def test_the_same_decision_twice_and_at_once(site: Site) -> None:
    first, second, *_ = near_matches(site)
    client, csrf = signed_in(site)
    assert (
        client.post(f"/console/review/{first}/reject", data={"csrf_token": csrf}).status_code == 302
    )
    again = client.post(f"/console/review/{first}/approve", data={"csrf_token": csrf})
    assert again.status_code == 409 and "not open" in again.text

    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def approve() -> None:
        own, token = signed_in(site)
        barrier.wait()
        statuses.append(
            own.post(f"/console/review/{second}/approve", data={"csrf_token": token}).status_code
        )

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [302, 409]
    with site.engine.connect() as conn:
        status = conn.execute(
            select(review_item.c.status).where(review_item.c.id == second)
        ).scalar_one()
    assert status == "approved"
