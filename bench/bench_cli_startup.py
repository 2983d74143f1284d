"""Benchmark: how long a short ``cpex-gateway`` command takes to start, beside its floor.

Runs each command N times in fresh processes and prints the median wall time, next to the
floor every command pays (a Python interpreter that imports click and pydantic, as the CLI's
group does) and the ratio between the two. Commands load only their own modules
(``gateway.cli.COMMANDS``), so ``--version`` pays for the group alone and ``validate`` for the
XML layer, not for the store, the mapping engine, the web app and the scheduler. Figures only,
no assertions (not part of the suite).

    .venv/bin/python bench/bench_cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "cpex-gateway")
FLOOR = [sys.executable, "-c", "import click, pydantic"]
COMMANDS = {
    "--version": [CLI, "--version"],
    "validate": [CLI, "validate", str(REPO / "schemas/examples/valid-minimal.xml")],
    "partners list": [CLI, "partners", "list"],
    "--help": [CLI, "--help"],
}


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    env = {**os.environ, "CPEX_CONFIG": str(REPO / "config/gateway.toml")}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    floor = median_seconds(FLOOR, runs)
    print(f"{'floor (python -c import click, pydantic)':<44} {floor * 1000:7.0f} ms")
    for name, argv in COMMANDS.items():
        seconds = median_seconds(argv, runs)
        ratio = seconds / floor
        print(f"{'cpex-gateway ' + name:<44} {seconds * 1000:7.0f} ms  {ratio:5.2f}x floor")


if __name__ == "__main__":
    main()
