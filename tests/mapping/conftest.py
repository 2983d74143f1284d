"""Fixtures for the mapping engine: the repository's schemas and mappings, and a scratch
mappings folder for files written by a test."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.xml.schemas import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"
CASES = Path(__file__).resolve().parent / "cases"
SALT_ENV = "CPEX_PSEUDONYM_SALT"
GOLDEN_SALT = "golden-test-salt"  # the salt the golden personalization outputs were made with


@pytest.fixture(scope="session")
def schemas() -> SchemaRegistry:
    return SchemaRegistry(REPO / "schemas")


@pytest.fixture
def salt(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SALT_ENV, GOLDEN_SALT)
    return GOLDEN_SALT


@pytest.fixture
def mapping_folder(tmp_path: Path) -> Path:
    """An empty mappings folder with a ``codes/`` folder holding one code list."""
    folder = tmp_path / "mappings"
    (folder / "codes").mkdir(parents=True)
    (folder / "codes" / "gender.csv").write_text("code,value\nF,female\nM,male\n")
    return folder


WriteMapping = Callable[..., Path]


@pytest.fixture
def write_mapping(mapping_folder: Path) -> WriteMapping:
    """Write a mapping file (text dedented) into the scratch folder and return its path."""

    def write(text: str, name: str = "test.yaml") -> Path:
        path = mapping_folder / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run CLI commands with the repository's settings (schemas and mappings folders)."""
    monkeypatch.setenv("CPEX_CONFIG", str(REPO / "config" / "gateway.toml"))
    monkeypatch.setenv("CPEX_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
