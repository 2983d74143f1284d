"""A ``cpex-gateway demo`` process on a free port with its own database and var folder, and
its console read by a thread with waits that end at a deadline."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.cli.conftest import REPO

CLI = str(Path(sys.executable).parent / "cpex-gateway")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "CPEX_CONFIG": str(REPO / "config" / "gateway.toml"),
        "CPEX_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CPEX_PATHS_VAR": f'"{tmp_path / "var"}"',
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CPEX_DELIVERY_CONFIG", None)
    return env


class Output:
    """The demo's stdout, read by a thread, with waits that end at a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def wait_for(self, pattern: str, seconds: float) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        with self._changed:
            while True:
                found = re.search(pattern, "".join(self.lines))
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} within {seconds} s:\n{''.join(self.lines)}"
                self._changed.wait(left)


@contextmanager
def demo_process(tmp_path: Path) -> Iterator[tuple[Output, int]]:
    port = free_port()
    process = subprocess.Popen(
        [CLI, "demo", "--port", str(port)],
        cwd=tmp_path,
        env=demo_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Output(process), port
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
