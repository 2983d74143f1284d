"""The README's first command ends with ``cpex-gateway demo``: it must import and serve."""

from __future__ import annotations

import json
import os
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
        assert "rejected" in output and ", 0 rejected" in output, output
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
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
