"""The gateway's one exception family.

Every error the gateway raises on purpose derives from :class:`GatewayError`. Each subclass keeps
its context as fields (file, line, path, key, ...) and builds its message once, so the CLI, the
JSON error body and the SOAP Fault all render the same words. Messages never carry whole records:
names and key fields only (no personal data in logs or messages).
"""

from __future__ import annotations

from dataclasses import dataclass


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose.

    ``code`` is stable and machine-readable (used in JSON bodies and SOAP fault codes).
    """

    code = "gateway_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}


# --- configuration ---------------------------------------------------------------------------


class ConfigError(GatewayError):
    """A configuration file or variable is wrong: names the file and the dotted key."""

    code = "config_error"

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.key = key
        where = ", ".join(p for p in (file, f"key '{key}'" if key else None) if p)
        super().__init__(f"{where}: {reason}" if where else reason)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "file": self.file, "key": self.key}


# --- XML parsing and validation --------------------------------------------------------------


class XMLError(GatewayError):
    """Base for problems with an XML document; ``source`` names the document (file or message)."""

    code = "xml_error"

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.column = column
        super().__init__(f"{_place(source, line, column)}{reason}")

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "source": self.source,
            "line": self.line,
            "column": self.column,
        }


class XMLSyntaxError(XMLError):
    """The document is not well-formed XML."""

    code = "xml_syntax"


class XMLSecurityError(XMLError):
    """The document uses a construct the hardened parser refuses (DOCTYPE, entity, XInclude)."""

    code = "xml_forbidden"


class XMLLimitError(XMLError):
    """The document is over a configured limit (size, nesting depth)."""

    code = "xml_too_large"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One schema violation, located in the document."""

    line: int | None
    column: int | None
    path: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "line ?"
        if self.column is not None:
            where += f", column {self.column}"
        if self.path:
            where += f", {self.path}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


class SchemaValidationError(XMLError):
    """The document is well-formed but does not validate against its schema."""

    code = "schema_invalid"

    def __init__(
        self, issues: list[ValidationIssue], *, source: str | None = None, schema: str | None = None
    ) -> None:
        self.issues = issues
        self.schema = schema
        first = issues[0] if issues else None
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        reason = f"{first.message}{more}" if first else "document is not valid"
        if first and first.path:
            reason = f"{first.path}: {reason}"
        super().__init__(
            f"schema violation{f' against {schema}' if schema else ''}: {reason}",
            source=source,
            line=first.line if first else None,
            column=first.column if first else None,
        )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "errors": [i.to_dict() for i in self.issues]}


class UnknownSchemaError(GatewayError):
    """No schema is registered for a namespace (or namespace and version)."""

    code = "unknown_schema"

    def __init__(self, namespace: str | None, version: str | None = None) -> None:
        self.namespace = namespace
        self.version = version
        ver = f" version {version}" if version else ""
        super().__init__(f"no schema registered for namespace '{namespace}'{ver}")


# --- model and store -------------------------------------------------------------------------


class ModelError(GatewayError):
    """A document validated but cannot become a canonical profile (or the reverse)."""

    code = "model_error"

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class StoreError(GatewayError):
    """The CRM base store failed, or refused a write that would break its invariants."""

    code = "store_error"


class DatabaseError(StoreError):
    """The database failed while the store was doing ``action`` (HTTP 503).

    Made in one place, :func:`gateway.store.engine.store_error`, from the driver's error.
    ``str()`` (logs, the operator's CLI) says what the driver said; :attr:`message` and
    :meth:`to_dict` (what an API client or partner sees) never carry the driver's words, which
    can name tables, constraints, values or server paths.
    """

    def __init__(self, action: str, cause: str) -> None:
        self.action = action
        self.cause = cause
        super().__init__(f"{action}: {cause}")
        self.message = f"{action}: the database failed; try again later"


class SchemaOutOfDateError(StoreError):
    """The database schema is not at the version this code needs."""

    code = "db_out_of_date"

    def __init__(self, current: str | None, expected: str) -> None:
        self.current = current
        self.expected = expected
        super().__init__(
            f"database schema is at revision {current or 'none (empty database)'}, "
            f"this gateway needs {expected}: run 'cpex-gateway db upgrade'"
        )


class BadRequestError(GatewayError):
    """A request that cannot be read: names the parameter or the body path (HTTP 400)."""

    code = "bad_request"

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "path": self.path}


class ConflictError(GatewayError):
    """An action the thing's current state does not allow: an item already decided, a
    delivery already sent, a record with nothing to unmerge from (HTTP 409)."""

    code = "conflict"


class PreconditionFailedError(GatewayError):
    """A write based on a state that is no longer current (HTTP 412): read again, reapply."""

    code = "precondition_failed"


class PreconditionRequiredError(GatewayError):
    """A write without the precondition that guards against lost updates (HTTP 428)."""

    code = "precondition_required"


class TooManyRequestsError(GatewayError):
    """A caller over its rate (HTTP 429); ``retry_after`` is the seconds until a request fits
    again (the ``Retry-After`` header)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class NotFoundError(GatewayError):
    """A thing asked for by id does not exist."""

    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} '{ident}' not found")


def _place(source: str | None, line: int | None, column: int | None) -> str:
    parts = [p for p in (source, f"line {line}" if line is not None else None) if p]
    if column is not None and line is not None:
        parts[-1] += f", column {column}"
    return (", ".join(parts) + ": ") if parts else ""


# --- authentication and authorisation --------------------------------------------------------


class AuthenticationError(GatewayError):
    """No credentials, or credentials that match no active key (HTTP 401)."""

    code = "unauthenticated"


class PermissionDeniedError(GatewayError):
    """Valid credentials that do not allow this operation (HTTP 403)."""

    code = "forbidden"
