"""Every endpoint that takes a request, bodyless ones included (mapping reload, rollback,
quarantine retry/discard, job pause/resume/run, ...), refuses a chunked body over the limit with
413 (a ``Client.TooLarge`` Fault on SOAP) before its view acts."""

from __future__ import annotations

import io

import pytest
from werkzeug.routing import IntegerConverter, Rule

from gateway.web.access import Access, rule_of
from tests.web.exchange_fixtures import (  # noqa: F401  (fixtures, by name)
    Exchange,
    exchange_fixture,
    partner_files_fixture,
    registry_fixture,
)

LIMIT = 4096
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def writes(exchange: Exchange) -> list[tuple[Rule, str]]:
    app = exchange.api.app
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) & WRITES)
    ]
    assert len(found) >= 20, found  # a route table that came out empty would pass below
    return found


def url_of(rule: Rule) -> str:
    converters = rule._converters
    values = {a: 1 if isinstance(converters[a], IntegerConverter) else "x" for a in rule.arguments}
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


@pytest.fixture
def bounded(exchange: Exchange) -> Exchange:
    gateway = exchange.api.gateway
    server = gateway.settings.server.model_copy(update={"max_body_bytes": LIMIT})
    gateway.settings = gateway.settings.model_copy(update={"server": server})
    return exchange


def test_every_write_refuses_an_oversized_chunked_body(bounded: Exchange) -> None:
    app, client = bounded.api.app, bounded.api.client
    answers = {}
    for rule, method in writes(bounded):
        access = rule_of(app.view_functions[rule.endpoint])
        who = {Access.PARTNER: "partner", Access.PUBLIC: "none"}.get(access, "admin")  # type: ignore[arg-type]
        response = client.open(
            url_of(rule),
            method=method,
            input_stream=io.BytesIO(b"<x>" + b"a" * 2 * LIMIT),
            headers={
                **bounded.headers(who),
                "Content-Type": "application/xml",
                "Transfer-Encoding": "chunked",
            },
            environ_overrides={"wsgi.input_terminated": True},
        )
        if rule.endpoint.startswith("soap."):
            assert b"Client.TooLarge" in response.data, (rule.rule, response.data[:300])
            answers[f"{method} {rule.rule}"] = response.status_code == 500
        else:
            answers[f"{method} {rule.rule}"] = response.status_code == 413
    assert [name for name, refused in answers.items() if not refused] == []


def test_a_job_is_not_paused_by_an_oversized_request(bounded: Exchange) -> None:
    client = bounded.api.client
    jobs = client.get("/api/v1/jobs", headers=bounded.headers("admin")).json["items"]
    name = jobs[0]["name"]
    response = client.post(
        f"/api/v1/jobs/{name}/pause",
        input_stream=io.BytesIO(b"z" * 2 * LIMIT),
        headers={**bounded.headers("admin"), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413 and response.json["error"]["code"] == "body_too_large"
    after = client.get("/api/v1/jobs", headers=bounded.headers("admin")).json["items"]
    assert next(j for j in after if j["name"] == name) == jobs[0]
