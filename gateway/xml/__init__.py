"""Hardened XML reading, the schema registry and validation."""

from gateway.xml.parser import (
    DEFAULT_LIMITS,
    XMLLimits,
    check_tree,
    make_parser,
    parse_bytes,
    parse_file,
    read_limited,
)
from gateway.xml.stream import iter_records, read_skeleton

__all__ = [
    "DEFAULT_LIMITS",
    "XMLLimits",
    "check_tree",
    "iter_records",
    "make_parser",
    "parse_bytes",
    "parse_file",
    "read_limited",
    "read_skeleton",
]
