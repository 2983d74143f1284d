"""Errors of the mapping engine, in the gateway's one exception family.

A mapping file is a contract that admins edit by hand, so every problem found in one names the
file, the line and column (1-based, as editors count) and the key, and says what is wrong in
words an admin can act on. Errors at run time name the target field and the source path, never
the values (no personal data in messages).
"""

from __future__ import annotations

from gateway.errors import GatewayError


class MappingError(GatewayError):
    """One problem in a mapping file: ``file:line:column: key: reason``."""

    code = "mapping_invalid"

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        where = ":".join(str(p) for p in (file, line, column) if p is not None)
        head = ": ".join(p for p in (where, key) if p)
        super().__init__(f"{head}: {reason}" if head else reason)

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "reason": self.reason,
        }


class MappingFileInvalid(MappingError):
    """A mapping file failed its check: carries every error found, reads as the first one."""

    code = "mapping_invalid"

    def __init__(self, errors: list[MappingError]) -> None:
        if not errors:
            raise ValueError("MappingFileInvalid needs at least one error")
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            first.reason + more, file=first.file, line=first.line, column=first.column,
            key=first.key,
        )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "errors": [e.to_dict() for e in self.errors]}


class MappingFailure(GatewayError):
    """A record could not be mapped: names the mapping, the target field and the source path."""

    code = "mapping_failed"

    def __init__(
        self,
        reason: str,
        *,
        mapping: str | None = None,
        field: str | None = None,
        source: str | None = None,
    ) -> None:
        self.reason = reason
        self.mapping = mapping
        self.field = field
        self.source = source
        where = ", ".join(
            p for p in (
                f"mapping '{mapping}'" if mapping else None,
                f"field {field}" if field else None,
                f"from {source}" if source else None,
            ) if p
        )
        super().__init__(f"{where}: {reason}" if where else reason)

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "mapping": self.mapping,
            "field": self.field,
            "source": self.source,
        }
