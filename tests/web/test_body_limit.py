"""The body limit holds for chunked requests when it is configured before the app is built (the
way it is in production): one byte over is 413, a body of exactly the limit is read whole."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine

from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.security.credentials import CredentialStore, Role
from gateway.web import create_app

LIMIT = 4096


@pytest.mark.parametrize(("size", "refused"), [(LIMIT + 1, True), (LIMIT + 5000, True),
                                               (LIMIT, False)])
def test_chunked_bodies_over_the_limit_are_413(migrated_engine: Engine, size: int,
                                               refused: bool) -> None:
    settings = load_settings(environ={}, overrides={"database.url": str(migrated_engine.url),
                                                    "server.max_body_bytes": LIMIT})
    app = create_app(gateway=Gateway(settings, _engine=migrated_engine))
    admin = CredentialStore(migrated_engine).issue("ops", Role.ADMIN).token
    body = b"<x>" + b"a" * (size - 7) + b"</x>"
    assert len(body) == size
    answer = app.test_client().post(
        "/api/v1/profiles", input_stream=io.BytesIO(body),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/xml",
                 "Transfer-Encoding": "chunked"},
        # what waitress and gunicorn say of a chunked body they de-chunk
        environ_overrides={"wsgi.input_terminated": True},
    )
    if refused:
        assert answer.status_code == 413 and answer.json["error"]["code"] == "body_too_large"
    else:  # read whole: the XML is well-formed, just not a CPEX envelope
        assert answer.status_code != 413
        assert answer.json["error"]["code"] != "xml_syntax", answer.json
