"""The runnable blocks of a Markdown page: fenced blocks marked ``<!-- doctest: run -->`` (``sh``
or ``python``), each optionally followed by one marked ``<!-- doctest: output -->`` that says
what the run prints (``text``: every line but ``…`` appears in the output; ``json``: the output
parses to that value, where a ``"…"`` matches any value).

A page's blocks run in order in one ``bash -e`` session (``python`` blocks through the
interpreter on ``PATH``), so variables exported by one block are there for the next.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MARKER = re.compile(r"^<!--\s*doctest:\s*(run|output)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Output:
    lang: str
    text: str
    line: int

    def problems(self, printed: str) -> list[str]:
        """What the printed output lacks (empty when it says what this block says)."""
        if self.lang == "json":
            try:
                actual: Any = json.loads(printed)
            except ValueError:
                return [f"not JSON: {printed[:200]!r}"]
            expected = json.loads(self.text)
            return [] if _matches(expected, actual) else [f"JSON differs: {actual!r}"]
        flat = " ".join(printed.split())
        return [
            f"missing: {line.strip()!r}"
            for line in self.text.splitlines()
            if line.strip() and line.strip() != ELLIPSIS and " ".join(line.split()) not in flat
        ]


@dataclass(frozen=True, slots=True)
class Block:
    lang: Literal["sh", "python"]
    code: str
    line: int
    output: Output | None = None


def runnable_blocks(page: Path) -> list[Block]:
    """The page's runnable blocks with their expected outputs, in order.

    :raises ValueError: a marker not followed by a fence, an unknown language, or an output
        block without a runnable block before it (naming the page and line).
    """
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        i += 1
        if marker is None:
            continue
        fence = FENCE.match(lines[i]) if i < len(lines) else None
        if fence is None:
            raise ValueError(f"{page.name}:{i}: a doctest marker must precede a fenced block")
        start, lang = i + 1, fence.group(1)
        end = next((j for j in range(start, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{page.name}:{start}: unclosed fenced block")
        code = "\n".join(lines[start:end]) + "\n"
        i = end + 1
        if marker.group(1) == "run":
            if lang not in ("sh", "python"):
                raise ValueError(f"{page.name}:{start}: runnable blocks are sh or python")
            blocks.append(Block(lang, code, start))  # type: ignore[arg-type]
        else:
            if not blocks or blocks[-1].output is not None:
                raise ValueError(f"{page.name}:{start}: an output block needs a run block before")
            last = blocks[-1]
            blocks[-1] = Block(last.lang, last.code, last.line, Output(lang, code, start))
    return blocks


def script(blocks: list[Block], separator: str) -> str:
    """One bash script that runs every block and prints ``separator`` + index before each."""
    parts = ["set -euo pipefail"]
    for n, block in enumerate(blocks):
        parts.append(f"echo '{separator}{n}'")
        if block.lang == "sh":
            parts.append(block.code)
        else:
            parts.append(f"python - <<'CPEX_DOCTEST_PY'\n{block.code}CPEX_DOCTEST_PY")
    return "\n".join(parts) + "\n"


def _matches(expected: Any, actual: Any) -> bool:
    """Equal, where an expected ``"…"`` stands for any value."""
    if expected == ELLIPSIS:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_matches(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)
