"""``/metrics``: operational figures in the Prometheus text format, read from the database, for
monitor and admin keys only (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gateway.erp.demo import create_demo_erp
from gateway.security.credentials import CredentialStore, Role
from scheduler.config import jobs_from
from scheduler.runner import SchedulerRunner
from tests.erp.conftest import erp_settings, make_refresher
from tests.pipeline.conftest import envelope, profile
from tests.web.conftest import Api


def scrape(api: Api, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.data
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def test_figures_follow_what_the_tables_hold(api: Api, tmp_path: Path) -> None:
    monitor = CredentialStore(api.gateway.engine).issue("prometheus", Role.MONITOR).token
    before = scrape(api, monitor)
    assert before[("cpex_golden_profiles", ())] == 0
    assert before[("cpex_outbox_undispatched", ())] == 0

    batch = envelope([profile("1", "Smith"), profile("2", "Br", country="France")])
    api.client.post("/api/v1/profiles", data=batch.encode(),
                    headers={**api.headers("admin"), "Content-Type": "application/xml"})
    erp_path = tmp_path / "erp.db"
    create_demo_erp(erp_path)
    refresher = make_refresher(api.gateway.engine, erp_settings(erp_path))
    refresher.full()
    refresher.source.close()
    config = jobs_from({"jobs": {"purge": {
        "kind": "audit_purge", "trigger": {"type": "cron", "cron": "0 3 * * *"}}}}, file="test")
    SchedulerRunner(api.gateway, config).run_now("purge")

    after = scrape(api, api.admin_key)  # admin keys may read the figures too
    assert after[("cpex_golden_profiles", ())] == 1
    assert after[("cpex_quarantine_records", (("status", "open"),))] == 1
    assert after[("cpex_outbox_undispatched", ())] == 1
    assert after[("cpex_outbox_oldest_undispatched_age_seconds", ())] >= 0
    assert after[("cpex_inbound_batches", (("status", "done"),))] == 1
    assert after[("cpex_erp_customers", (("source_system", "erp"),))] == 40
    assert 0 <= after[("cpex_erp_snapshot_age_seconds", (("source_system", "erp"),))] < 600
    assert after[("cpex_job_last_run_failed", (("job", "purge"),))] == 0
    assert after[("cpex_job_last_success_timestamp_seconds", (("job", "purge"),))] > 1.7e9


def test_monitor_keys_read_metrics_and_nothing_else(api: Api) -> None:
    monitor = CredentialStore(api.gateway.engine).issue("prometheus", Role.MONITOR).token
    as_monitor = {"Authorization": f"Bearer {monitor}"}
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.headers("partner")).status_code == 403
    for url in ("/api/v1/profiles", "/api/v1/jobs", "/api/v1/quarantine"):
        refused = api.client.get(url, headers=as_monitor)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert api.client.post("/cpex/v1/exchange", headers=as_monitor).status_code == 403


def test_process_figures_count_requests_ingest_and_jobs(api: Api) -> None:
    """HTTP requests by route template and status, records by outcome, job durations: beside
    the gauges in the same scrape."""
    before = scrape(api, api.admin_key)
    assert api.client.get("/health").status_code == 200
    missing = api.client.get("/api/v1/profiles/gp_nope", headers=api.headers("admin"))
    assert missing.status_code == 404
    assert api.client.get("/no/such/page").status_code == 404
    batch = envelope([profile("1", "Smith"), profile("2", "Br", country="France")])
    api.client.post("/api/v1/profiles", data=batch.encode(),
                    headers={**api.headers("admin"), "Content-Type": "application/xml"})
    config = jobs_from({"jobs": {"purge": {
        "kind": "audit_purge", "trigger": {"type": "cron", "cron": "0 3 * * *"}}}}, file="test")
    SchedulerRunner(api.gateway, config).run_now("purge")
    after = scrape(api, api.admin_key)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    requests = "cpex_http_requests_total"
    assert grew(requests, method="GET", route="/health", status="200") == 1
    # The route template, never the id a caller put in the path.
    assert grew(requests, method="GET", route="/api/v1/profiles/<golden_id>", status="404") == 1
    assert grew(requests, method="GET", route="unmatched", status="404") == 1
    assert not any("gp_nope" in str(labels) or "/no/such" in str(labels) for _, labels in after)
    assert grew("cpex_http_request_duration_seconds_count", method="GET", route="/health",
                status="200") == 1
    assert grew("cpex_ingest_records_total", source_system="shop", outcome="created") == 1
    assert grew("cpex_ingest_records_total", source_system="shop", outcome="rejected") == 1
    assert grew("cpex_job_duration_seconds_count", job="purge", status="succeeded") == 1
    assert after[("cpex_golden_profiles", ())] >= 1  # the gauges are still there
