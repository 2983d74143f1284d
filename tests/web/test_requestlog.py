"""Request ids and the access log: every answer carries ``X-Request-Id``, every request is logged
once with it, in text or JSON, and never with its query string (searches carry personal data)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from gateway.config import LoggingSettings
from gateway.log_setup import configure_logging
from tests.web.conftest import Api


@pytest.fixture
def stderr_log(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    root = logging.getLogger()
    level = root.level
    yield capsys
    for handler in list(root.handlers):
        if handler.get_name() == "cpex":
            root.removeHandler(handler)
    root.setLevel(level)


def test_ids_are_made_or_taken_and_answered(api: Api) -> None:
    made = api.client.get("/health").headers["X-Request-Id"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert api.client.get("/health").headers["X-Request-Id"] != made
    given = api.client.get("/health", headers={"X-Request-Id": "trace-7f3a.b_1"})
    assert given.headers["X-Request-Id"] == "trace-7f3a.b_1"
    for odd in ("has space", "x" * 129, "semi;colon", "<script>"):
        answer = api.client.get("/health", headers={"X-Request-Id": odd})
        assert answer.headers["X-Request-Id"] != odd and len(answer.headers["X-Request-Id"]) == 32
    refused = api.client.get("/api/v1/profiles", headers={"X-Request-Id": "refused-1"})
    assert refused.status_code == 401 and refused.headers["X-Request-Id"] == "refused-1"


def test_answers_are_not_cached_or_sniffed(api: Api) -> None:
    for url in ("/health", "/api/v1/profiles", "/soap/v1/exchange?wsdl"):
        answer = api.client.get(url, headers=api.headers("admin"))
        assert answer.headers["Cache-Control"] == "no-store", url
        assert answer.headers["X-Content-Type-Options"] == "nosniff", url


def test_text_access_line_without_query_string(api: Api,
                                               stderr_log: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="INFO", format="text"))
    api.client.get("/api/v1/profiles?email=ann.secret%40example.org&phone=%2B4479",
                   headers={**api.headers("admin"), "X-Request-Id": "req-42"})
    err = stderr_log.readouterr().err
    [line] = [x for x in err.splitlines() if "gateway.access" in x]
    assert "[req-42]" in line and "GET /api/v1/profiles 200" in line and "key=" in line
    assert "ann.secret" not in err and "4479" not in err and "email" not in err


def test_json_lines_carry_the_request_id(api: Api, stderr_log: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="INFO", format="json"))
    api.client.get("/api/v1/profiles/gp_missing",
                   headers={**api.headers("admin"), "X-Request-Id": "req-43"})
    lines = [json.loads(x) for x in stderr_log.readouterr().err.splitlines() if x.startswith("{")]
    [access] = [x for x in lines if x["logger"] == "gateway.access"]
    assert access["request_id"] == "req-43" and access["level"] == "INFO"
    assert access["message"].startswith("GET /api/v1/profiles/gp_missing 404 ")
    assert "time" in access


def test_configuring_twice_keeps_one_handler(stderr_log: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="INFO"))
    configure_logging(LoggingSettings(level="WARNING"))
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "cpex"]
    assert len(ours) == 1 and logging.getLogger().level == logging.WARNING
    logging.getLogger("gateway.test").warning("outside a request")
    assert "[-]: outside a request" in stderr_log.readouterr().err
