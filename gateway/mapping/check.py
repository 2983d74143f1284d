"""Checking and loading mapping files: one path, so ``mapping check`` and load never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from gateway.mapping.compiler import CompiledMapping, compile_spec
from gateway.mapping.errors import MappingError, MappingFileInvalid
from gateway.mapping.spec import read_spec
from gateway.model.profile import AttributeDeclaration
from gateway.xml.schemas import SchemaRegistry

Attributes = Mapping[str, AttributeDeclaration] | None


def check_mapping(
    path: str | Path, *, schemas: SchemaRegistry | None = None, text: str | None = None,
    attributes: Attributes = None,
) -> list[MappingError]:
    """Every error in a mapping file (empty when it is good); ``text`` checks unsaved text."""
    return _compile(path, schemas, text, attributes)[1]


def lint_mapping(
    path: str | Path, *, schemas: SchemaRegistry | None = None, text: str | None = None,
    attributes: Attributes = None,
) -> tuple[list[MappingError], list[MappingError]]:
    """The errors of a mapping file, and (when it has none) its warnings: patterns that still
    work but probably do not do what the author meant, custom attributes not declared in
    ``attributes`` (the settings)."""
    compiled, errors = _compile(path, schemas, text, attributes)
    return errors, list(compiled.warnings) if compiled is not None else []


def load_mapping(
    path: str | Path, *, schemas: SchemaRegistry | None = None, text: str | None = None,
    attributes: Attributes = None,
) -> CompiledMapping:
    """Read and compile a mapping file.

    ``schemas`` defaults to the ``schemas/`` folder beside the mappings folder (the repository
    layout), which XML targets are checked against.

    :raises MappingFileInvalid: with every error found, reading as the first one.
    """
    compiled, errors = _compile(path, schemas, text, attributes)
    if compiled is None:
        raise MappingFileInvalid(errors)
    return compiled


def _compile(
    path: str | Path, schemas: SchemaRegistry | None, text: str | None, attributes: Attributes
) -> tuple[CompiledMapping | None, list[MappingError]]:
    spec, errors = read_spec(path, text)
    if spec is None:
        return None, errors
    return compile_spec(spec, schemas if schemas is not None else default_schemas(Path(path)),
                        attributes)


def default_schemas(mapping_file: Path) -> SchemaRegistry | None:
    """The registry of ``<mappings folder>/../schemas``, if there is one."""
    folder = mapping_file.resolve().parent.parent / "schemas"
    return _registry(folder) if folder.is_dir() else None


@lru_cache(maxsize=4)
def _registry(folder: Path) -> SchemaRegistry:
    return SchemaRegistry(folder)
