"""Fixtures for the model tests: the real schema registry over the repository's schemas folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.xml.schemas import SchemaRegistry

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES_DIR = SCHEMAS_DIR / "examples"


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    """Compiled once for the session (schemas compile per thread inside the registry)."""
    return SchemaRegistry(SCHEMAS_DIR)
