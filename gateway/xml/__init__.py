"""Hardened XML reading, the schema registry and validation."""

from gateway.xml.parser import (
    DEFAULT_LIMITS,
    XMLLimits,
    check_tree,
    iter_records,
    make_parser,
    parse_bytes,
    parse_file,
    read_limited,
)

__all__ = [
    "DEFAULT_LIMITS", "XMLLimits", "check_tree", "iter_records", "make_parser", "parse_bytes",
    "parse_file", "read_limited",
]
