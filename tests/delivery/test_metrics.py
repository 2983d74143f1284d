"""The dispatcher's figures: every attempt timed by partner and outcome, and the latency from a
delivery's creation to the partner's acceptance (on SQLite and PostgreSQL)."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.telemetry import REGISTRY
from tests.delivery.conftest import Hub, person
from tests.delivery.partner_server import PartnerServer


def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(REGISTRY).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_attempts_and_latency_are_measured(hub: Hub, partner: PartnerServer) -> None:
    partner.behave = lambda n, _body: "fail" if n == 1 else "ok"  # one retry, then accepted
    before = samples()
    hub.save(person("m1"))
    hub.drain(hub.dispatcher())
    after = samples()

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    attempts = "cpex_delivery_attempt_duration_seconds_count"
    assert grew(attempts, partner="shop", outcome="retrying") == 1
    assert grew(attempts, partner="shop", outcome="delivered") == 1
    assert grew("cpex_delivery_latency_seconds_count", partner="shop") == 1
    assert grew("cpex_delivery_latency_seconds_sum", partner="shop") > 0
    assert grew("cpex_delivery_latency_seconds_bucket", partner="shop", le="+Inf") == 1
