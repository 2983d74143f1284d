"""A refused record shown as lines, each error under the line it is about.

XML is pretty-printed through the hardened parser and each error placed at the element its path
names (``/Profile/Addresses/Address[2]/Country``); JSON is indented and an error placed at its
last key. An error whose place cannot be found is shown above the record, never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from gateway.errors import GatewayError
from gateway.xml.parser import parse_bytes

_STEP = re.compile(r"(?:[\w.-]+:)?([\w.-]+)(?:\[(\d+)\])?")


@dataclass
class Line:
    number: int
    text: str
    errors: list[str] = field(default_factory=list)


@dataclass
class PlacedRecord:
    lines: list[Line]
    unplaced: list[str]


def place_errors(raw: str, fmt: str, errors: Sequence[Mapping[str, Any]]) -> PlacedRecord:
    if fmt == "xml":
        text, lines_of = _xml(raw)
    else:
        text, lines_of = _json(raw)
    lines = [Line(i, t) for i, t in enumerate(text.split("\n"), start=1)]
    unplaced = []
    for error in errors:
        message = str(error.get("message", ""))
        where = lines_of(str(error.get("path") or ""))
        if where is not None and 1 <= where <= len(lines):
            lines[where - 1].errors.append(message)
        else:
            unplaced.append(message)
    return PlacedRecord(lines, unplaced)


def _xml(raw: str) -> tuple[str, Any]:
    try:
        root = parse_bytes(raw.encode("utf-8"), source="quarantined record").getroot()
        pretty = etree.tostring(root, pretty_print=True, encoding="unicode").rstrip("\n")
        tree = parse_bytes(pretty.encode("utf-8"), source="quarantined record").getroot()
    except GatewayError:  # not well-formed (a parse refusal): shown as received
        return raw.rstrip("\n"), lambda path: None

    def line_of(path: str) -> int | None:
        steps = [m for m in (_STEP.fullmatch(s) for s in path.strip("/").split("/") if s) if m]
        if not steps or etree.QName(tree).localname != steps[0].group(1):
            return None
        node = tree
        for step in steps[1:]:
            same = [
                c
                for c in node
                if isinstance(c.tag, str) and etree.QName(c).localname == step.group(1)
            ]
            index = int(step.group(2) or 1) - 1
            if index >= len(same):
                return None
            node = same[index]
        line = node.sourceline
        return line if isinstance(line, int) else None

    return pretty, line_of


def _json(raw: str) -> tuple[str, Any]:
    try:
        text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw.rstrip("\n"), lambda path: None
    rows = text.split("\n")

    def line_of(path: str) -> int | None:
        key = re.split(r"[/.]", path.strip("/."))[-1] if path else ""
        key = re.sub(r"\[\d+\]$", "", key)
        for number, row in enumerate(rows, start=1):
            if key and row.lstrip().startswith(json.dumps(key) + ":"):
                return number
        return None

    return text, line_of
