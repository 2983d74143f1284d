"""Console sign-in, sessions, CSRF and headers over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway.security.credentials import CredentialStore, Role
from gateway.store.audit import AuditLog
from gateway.store.tables import audit_log, console_session
from gateway.web.access import Access, rule_of
from tests.console.conftest import Site, signed_in


def test_every_console_rule_needs_a_session(site: Site) -> None:
    """Each console URL (but sign-in and the static files) sends a stranger to sign in, keys in
    headers notwithstanding, and changes nothing."""
    client = site.app.test_client()
    headers = {"Authorization": f"Bearer {site.admin_key}"}
    checked = 0
    for rule in site.app.url_map.iter_rules():
        if rule_of(site.app.view_functions[rule.endpoint]) is not Access.CONSOLE:
            continue
        if rule.endpoint in (
            "console.sign_in",
            "console.sign_in_form",
            "console.static",
            "console_root.home",
        ):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(path, method=method, headers=headers)
            assert answer.status_code == 302, (method, path)
            assert answer.headers["Location"].startswith("/console/sign-in")
            checked += 1
    assert checked >= 8
    with site.engine.connect() as conn:
        assert conn.execute(select(audit_log)).all() == []


def test_pages_redirect_to_sign_in_and_keys_in_headers_do_not_sign_in(site: Site) -> None:
    client = site.app.test_client()
    for path in ("/console/", "/console/jobs", "/console/jobs/erp-full"):
        answer = client.get(path, headers={"Authorization": f"Bearer {site.admin_key}"})
        assert answer.status_code == 302
        assert answer.headers["Location"] == f"/console/sign-in?next={path}"
    assert client.post("/console/jobs/erp-full/pause").status_code == 302
    htmx = client.get("/console/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/sign-in")


def test_sign_in_sets_a_strict_session_cookie_and_audits_the_key_name(site: Site) -> None:
    client = site.app.test_client()
    answer = client.post("/console/sign-in", data={"key": site.admin_key, "next": "/console/jobs"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/jobs"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert site.admin_key not in cookie
    assert client.get("/console/jobs").status_code == 200
    with site.engine.connect() as conn:
        row = conn.execute(select(audit_log.c.actor, audit_log.c.action)).one()
    assert tuple(row) == ("console:alice", "console.sign_in")


def test_behind_https_the_cookie_is_secure(site: Site) -> None:
    client = site.app.test_client()
    answer = client.post(
        "/console/sign-in", data={"key": site.admin_key}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "Secure" in answer.headers["Set-Cookie"]


def test_next_never_leaves_the_console(site: Site) -> None:
    client = site.app.test_client()
    for target in ("https://evil.example/console/", "//evil.example/x", "/api/v1/profiles"):
        answer = client.post("/console/sign-in", data={"key": site.admin_key, "next": target})
        assert answer.headers["Location"] == "/console/"


def test_wrong_partner_and_cross_site_sign_ins_are_refused(site: Site) -> None:
    client = site.app.test_client()
    partner = CredentialStore(site.engine).issue("acme", Role.PARTNER, partner_id="acme").token
    bad = client.post("/console/sign-in", data={"key": "cpex_abc_def"})
    assert bad.status_code == 401 and "not valid" in bad.text
    other = client.post("/console/sign-in", data={"key": partner})
    assert other.status_code == 401 and "partner keys cannot sign in" in other.text
    forged = client.post(
        "/console/sign-in",
        data={"key": site.admin_key},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403 and "Set-Cookie" not in forged.headers


def test_pages_carry_a_strict_csp_and_no_inline_script(site: Site) -> None:
    client, _ = signed_in(site)
    for path in ("/console/", "/console/jobs", "/console/sign-in"):
        answer = client.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Cache-Control"] == "no-store"
        html = answer.text
        assert "<script>" not in html and " on" + "click=" not in html and "style=" not in html
        assert "https://" not in html.replace("https://evil", "")  # nothing from another site
    with client.get("/console/static/htmx.min.js") as js:
        assert js.status_code == 200 and b"htmx" in js.data


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    client, token = signed_in(site)
    refused = client.post("/console/jobs/erp-full/pause")
    assert refused.status_code == 403 and "CSRF" in refused.text
    stale = client.post("/console/jobs/erp-full/pause", data={"csrf_token": token[:-2] + "xx"})
    assert stale.status_code == 403
    assert "paused" not in client.get("/console/jobs").text
    ok = client.post("/console/jobs/erp-full/pause", data={"csrf_token": token})
    assert ok.status_code == 302
    page = client.get("/console/jobs")
    assert "erp-full paused" in page.text  # said once
    assert "erp-full paused" not in client.get("/console/jobs").text
    by_header = client.post("/console/jobs/erp-full/resume", headers={"X-CSRF-Token": token})
    assert by_header.status_code == 302
    actions = [(e.actor, e.action, e.detail.get("job")) for e in AuditLog(site.engine).list()]
    assert ("console:alice", "console.job.pause", "erp-full") in actions
    assert ("console:alice", "console.job.resume", "erp-full") in actions


def test_monitor_sessions_see_but_cannot_act(site: Site) -> None:
    client, token = signed_in(site, site.monitor_key)
    page = client.get("/console/jobs")
    assert page.status_code == 200 and "mo (monitor, read-only)" in page.text
    assert "Run now" not in page.text and "Pause" not in page.text
    refused = client.post("/console/jobs/erp-full/pause", data={"csrf_token": token})
    assert refused.status_code == 403 and "read-only" in refused.text
    text = site.gateway.mapping_admin.mappings.text("cpex-in")
    save = client.post("/console/mappings/cpex-in/save", data={"csrf_token": token, "text": text})
    assert save.status_code == 403 and site.gateway.mapping_admin.history.list("cpex-in") == []
    assert "paused" not in client.get("/console/jobs").text
    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/jobs").status_code == 302


def test_revoking_the_key_or_idling_ends_the_session(site: Site) -> None:
    client, _ = signed_in(site)
    key_id = site.admin_key.split("_")[1]
    CredentialStore(site.engine).revoke(key_id)
    assert client.get("/console/jobs").status_code == 302

    again, _ = signed_in(site, site.monitor_key)
    idle = datetime.now(UTC) - timedelta(minutes=site.gateway.settings.console.idle_minutes + 1)
    with site.engine.begin() as conn:
        conn.execute(update(console_session).values(last_seen_at=idle))
    assert again.get("/console/jobs").status_code == 302


def test_sign_out_forgets_the_session_server_side(site: Site) -> None:
    client, token = signed_in(site)
    cookie = client.get_cookie("cpex_console", path="/console")
    assert cookie is not None
    client.post("/console/sign-out", data={"csrf_token": token})
    with site.engine.connect() as conn:
        assert conn.execute(select(console_session)).all() == []
    replay = site.app.test_client()
    replay.set_cookie("cpex_console", cookie.value, path="/console")
    assert replay.get("/console/jobs").status_code == 302


def test_console_pages_are_not_in_the_api_description(site: Site) -> None:
    paths = site.app.test_client().get("/api/v1/openapi.json").json["paths"]
    assert paths and not [p for p in paths if p.startswith("/console")]


def test_the_server_address_opens_the_console(site: Site) -> None:
    answer = site.app.test_client().get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
