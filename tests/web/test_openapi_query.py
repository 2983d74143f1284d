"""``openapi.json`` declares every query parameter the server reads: views read them only
through :func:`gateway.web.requests.query`, which refuses a name the description lacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.web.openapi import QUERY
from gateway.web.requests import query
from tests.web.conftest import Api

WEB = Path(__file__).resolve().parents[2] / "gateway" / "web"


def test_no_view_reads_the_query_string_around_the_declaration() -> None:
    readers = sorted(p.name for p in WEB.glob("*.py") if "request.args" in p.read_text())
    assert readers == ["requests.py"]


def test_every_declared_parameter_is_in_the_description(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json["paths"]
    rules = {rule.endpoint: rule for rule in api.app.url_map.iter_rules()}
    for endpoint, declared in QUERY.items():
        assert endpoint in rules, f"{endpoint} is declared but there is no such endpoint"
        rule = rules[endpoint]
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            parameters = paths[path][method.lower()].get("parameters", [])
            names = {p["name"] for p in parameters if p["in"] == "query"}
            assert {p["name"] for p in declared} <= names, endpoint


def test_reading_an_undeclared_parameter_is_a_programming_error(api: Api) -> None:
    with api.app.test_request_context("/api/v1/review?x=1"), pytest.raises(LookupError):
        query("x")


def test_docs_list_the_statuses_openapi_declares(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json["paths"]
    declared = {
        f"| {method.upper()} | `{path}` | {', '.join(sorted(op['responses']))} |"
        for path, item in paths.items()
        for method, op in item.items()
    }
    text = (WEB.parents[1] / "docs" / "api.md").read_text()
    section = text.partition("## Statuses per endpoint")[2].partition("\n## ")[0]
    documented = {line for line in section.splitlines() if line.startswith("| ") and "`/" in line}
    assert documented == declared
