"""The README's first command ends with ``cpex-gateway demo``: it must import, deliver and serve.

Within a minute of starting, two sample partners have received deliveries at the demo partner
endpoint and the third's (SOAP, down on purpose) are dead letters; a second demo on the same
port is refused before it touches the database.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.demo_process import CLI, Output, demo_env, demo_process


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[tuple[Output, int]]:
    with demo_process(tmp_path) as demo:
        yield demo


def get_json(url: str, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as answer:
        return json.load(answer)


def until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.2)


def test_demo_imports_delivers_and_serves(running_demo: tuple[Output, int], tmp_path: Path) -> None:
    output, port = running_demo
    output.wait_for(f"listening on http://127.0.0.1:{port}/", 90)
    text = output.text
    assert "25 records, 25 created" in text and ", 0 rejected" in text, text
    assert "ERP refresh 1, full: 40 read, 40 written" in text, text
    assert "ERP refresh 2, incremental:" in text, text
    assert "1 marked deleted" in text, text
    assert "earlier demo admin key" not in text  # a first run has none to revoke
    key = output.wait_for(r"demo admin key \(shown once\): (\S+)", 1).group(1)
    partners_url = output.wait_for(r"demo partners on (http://127\.0\.0\.1:\d+)", 1).group(1)
    base = f"http://127.0.0.1:{port}"
    body = until(lambda: _health(base), 10, "health")
    assert body["status"] == "ok" and body["database"]["up_to_date"] is True
    assert get_json(f"{base}/api/v1/profiles?limit=100", key)["total"] == 25
    assert f"admin console: {base}/console/" in text, text
    with urllib.request.urlopen(f"{base}/console/", timeout=5) as answer:
        assert answer.url.endswith("/console/sign-in?next=/console/")
    # The demo reads numbers typed without + as German ones, like its data (+49 151 2978853).
    assert "phone numbers without + are read as DE numbers" in text
    found = get_json(f"{base}/api/v1/profiles?phone=0151%202978853", key)["items"]
    assert [p["name"] for p in found] == ["Lena Schmidt"]

    # Within a minute: acme and persona received theirs, globex's are dead letters.
    output.wait_for(r"demo partner acme: received cpex\.\S+\.acme", 60)
    output.wait_for(r"demo partner persona: received cpex\.\S+\.persona", 60)
    received = get_json(partners_url)["received"]
    assert {r["partner"] for r in received} <= {"acme", "persona"}
    dead = until(
        lambda: get_json(f"{base}/api/v1/deliveries?status=dead", key)["items"], 60, "a dead letter"
    )
    assert {d["partner"] for d in dead} == {"globex"}
    assert all(d["attempts"] == 3 and "503" in d["last_error"] for d in dead)
    delivered = until(
        lambda: len(get_json(f"{base}/api/v1/deliveries?status=delivered", key)["items"]) >= 3,
        30,
        "three deliveries",
    )
    delivered = get_json(f"{base}/api/v1/deliveries?status=delivered", key)["items"]
    received = get_json(partners_url)["received"]
    assert sorted(d["message_id"] for d in delivered) == sorted(r["message_id"] for r in received)

    # A second demo on the same port is refused before migrating, importing or issuing keys.
    keys_before = _keys(tmp_path)
    second = subprocess.run(
        [CLI, "demo", "--port", str(port)],
        cwd=tmp_path,
        env=demo_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "demo import" not in second.stdout
    assert _keys(tmp_path) == keys_before


def _health(base: str) -> Any:
    try:
        return get_json(f"{base}/health")
    except OSError:
        return None


def _keys(tmp_path: Path) -> list[dict[str, Any]]:
    listed = subprocess.run(
        [CLI, "keys", "list", "--json"],
        cwd=tmp_path,
        env=demo_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    keys: list[dict[str, Any]] = json.loads(listed.stdout)
    return keys
