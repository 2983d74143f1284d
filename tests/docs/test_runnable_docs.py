"""The docs' runnable blocks run, against a running demo, and print what the docs say they print.

Each page's blocks (``<!-- doctest: run -->``, see :mod:`tests.docs.runnable`) run in order in
one shell from the checkout, with ``GATEWAY`` set to the demo's base URL, the demo's settings in
the environment and the test interpreter's ``bin`` first on ``PATH`` (``cpex-gateway``,
``python``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.demo_process import demo_env, demo_process
from tests.docs.runnable import runnable_blocks, script

REPO = Path(__file__).resolve().parents[2]
SEPARATOR = "@@cpex-doctest-block "
#: Pages with runnable blocks; a page that loses its markers fails here instead of passing.
PAGES = {"README.md": 1, "docs/partners.md": 5, "docs/operations.md": 1, "docs/privacy.md": 1}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("doc-demo")
    with demo_process(folder) as (output, port):
        output.wait_for(f"listening on http://127.0.0.1:{port}/", 120)
        env = demo_env(folder)
        env["GATEWAY"] = f"http://127.0.0.1:{port}"
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        yield env


def test_every_page_with_runnable_blocks_is_listed() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    found = {str(p.relative_to(REPO)): len(runnable_blocks(p)) for p in pages}
    assert {page: n for page, n in found.items() if n} == PAGES


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_runs(page: str, demo: dict[str, str]) -> None:
    blocks = runnable_blocks(REPO / page)
    run = subprocess.run(
        ["bash", "-c", script(blocks, SEPARATOR)],
        cwd=REPO,
        env=demo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = run.stdout.split(SEPARATOR)[1:]
    failed = len(outputs) - 1
    if run.returncode != 0:
        block = blocks[failed]
        pytest.fail(
            f"{page}:{block.line}: the block failed (exit {run.returncode}):\n"
            f"{block.code}\n--- stdout\n{outputs[-1] if outputs else ''}\n"
            f"--- stderr\n{run.stderr}"
        )
    assert len(outputs) == len(blocks)
    for block, printed in zip(blocks, outputs, strict=True):
        _, _, printed = printed.partition("\n")
        if block.output is not None:
            problems = block.output.problems(printed)
            assert not problems, f"{page}:{block.line}: {problems}\n--- printed\n{printed}"
