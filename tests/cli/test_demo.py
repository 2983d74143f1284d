"""The README's first command ends with ``cpex-gateway demo``: it must import and serve."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.cli.conftest import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_imports_and_serves_health(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CPEX_CONFIG": str(REPO / "config" / "gateway.toml"),
        "CPEX_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CPEX_PATHS_VAR": f'"{tmp_path / "var"}"',
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "cpex-gateway"), "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "listening on" in line:
                break
        output = "".join(lines)
        assert f"listening on http://127.0.0.1:{port}/" in output, output
        assert "25 records, 25 created" in output and ", 0 rejected" in output, output
        assert "ERP refresh 1, full: 40 read, 40 written" in output, output
        assert "ERP refresh 2, incremental:" in output, output
        assert "1 marked deleted" in output, output
        key = re.search(r"demo admin key \(shown once\): (\S+)", output)
        assert key is not None, output
        body = None
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    body = json.load(answer)
                break
            except OSError:
                time.sleep(0.1)
        assert body is not None and body["status"] == "ok"
        assert body["database"]["up_to_date"] is True
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/profiles?limit=100",
            headers={"Authorization": f"Bearer {key.group(1)}"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.load(answer)["total"] == 25
        assert f"admin console: http://127.0.0.1:{port}/console/" in output, output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/console/", timeout=5) as answer:
            assert answer.url.endswith("/console/sign-in?next=/console/")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
