"""The running gateway's mappings: every file of ``mappings/``, reloaded safely.

An admin's edit must never break the running gateway: :meth:`MappingSet.reload` compiles each
changed file and swaps it in only when it is valid. An invalid edit keeps the last good version
running and its errors are returned, kept in :attr:`MappingSet.errors` (for the API and CLI) and
logged (mapping errors name places in the file, never record values).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

from gateway.errors import NotFoundError
from gateway.mapping.check import load_mapping
from gateway.mapping.compiler import CompiledMapping
from gateway.mapping.errors import MappingError, MappingFileInvalid
from gateway.model.profile import AttributeDeclaration
from gateway.xml.schemas import SchemaRegistry

log = logging.getLogger(__name__)

PATTERNS = ("*.yaml", "*.yml")


class MappingSet:
    """Compiled mappings by name, from the mapping files of one folder."""

    def __init__(self, folder: str | Path, *, schemas: SchemaRegistry | None = None,
                 attributes: Mapping[str, AttributeDeclaration] | None = None) -> None:
        self.folder = Path(folder)
        self.schemas = schemas
        self.attributes = attributes  # the deployment's declared custom attributes
        self._loaded: dict[Path, tuple[str, CompiledMapping]] = {}  # file -> (text, mapping)
        self._seen: dict[Path, str] = {}  # file -> the text last compiled (good or not)
        self.errors: dict[str, list[MappingError]] = {}  # file name -> errors of its new text
        self.reload()

    def reload(self) -> dict[str, list[MappingError]]:
        """Compile the files that changed since the last reload; keep the last good version of
        a file whose new text is invalid. Returns the errors of the files that failed now."""
        failed: dict[str, list[MappingError]] = {}
        present = {p for pattern in PATTERNS for p in self.folder.glob(pattern)}
        for path in sorted(present):
            text = path.read_text(encoding="utf-8")
            if self._seen.get(path) == text:
                continue
            self._seen[path] = text
            try:
                compiled = load_mapping(path, schemas=self.schemas, text=text,
                                        attributes=self.attributes)
            except MappingFileInvalid as exc:
                failed[path.name] = self.errors[path.name] = exc.errors
                kept = "keeping the last good version" if path in self._loaded else "not loaded"
                for error in exc.errors:
                    log.warning("mapping %s invalid (%s): %s", path.name, kept, error)
                continue
            self._loaded[path] = (text, compiled)
            self.errors.pop(path.name, None)
            log.info("mapping %s loaded from %s", compiled.name, path.name)
        for path in set(self._loaded) - present:
            log.info("mapping file %s removed", path.name)
            del self._loaded[path]
            self._seen.pop(path, None)
        return failed

    def get(self, name: str) -> CompiledMapping:
        """The mapping called ``name``; its file name (``name.yaml``, as config files write it)
        is accepted too.

        :raises NotFoundError: when no loaded mapping has that name.
        """
        name = name.removesuffix(".yaml")
        for _, compiled in self._loaded.values():
            if compiled.name == name:
                return compiled
        raise NotFoundError("mapping", name)

    def path(self, name: str) -> Path:
        """The file that holds the running mapping ``name``.

        :raises NotFoundError: when no loaded mapping has that name.
        """
        for file, (_, compiled) in self._loaded.items():
            if compiled.name == name:
                return file
        raise NotFoundError("mapping", name)

    def text(self, name: str) -> str:
        """The text of the version that is running (the last good one)."""
        for text, compiled in self._loaded.values():
            if compiled.name == name:
                return text
        raise NotFoundError("mapping", name)

    @property
    def names(self) -> list[str]:
        return sorted(compiled.name for _, compiled in self._loaded.values())

    def __iter__(self) -> Iterator[CompiledMapping]:
        return iter(sorted((c for _, c in self._loaded.values()), key=lambda c: c.name))

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for _, c in self._loaded.values())

    def __len__(self) -> int:
        return len(self._loaded)
