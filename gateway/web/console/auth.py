"""Console sign-in: a key exchanged for a server-side session, CSRF and the security headers.

Every console page is marked :data:`Access.CONSOLE` (the bearer-key check leaves it alone) and
passes :func:`_guard` instead: no live session → the sign-in page; a POST without the session's
CSRF token → 403; a POST that changes something from a monitor session → 403 (monitor keys see
everything read-only). Pages are answered with a strict Content-Security-Policy (scripts and
styles from the console's own static files only, no inline script), no caching, no framing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from flask import Response, current_app, g, redirect, render_template, request, send_from_directory
from werkzeug.exceptions import HTTPException

from gateway.errors import GatewayError, PermissionDeniedError
from gateway.security.credentials import CredentialStore, Role
from gateway.store.audit import AuditLog
from gateway.web.access import Access, access
from gateway.web.console.blueprint import STATIC, bp, root
from gateway.web.console.sessions import ConsoleSession, SessionStore
from gateway.web.context import gateway_of
from gateway.web.errors import status_for

F = TypeVar("F", bound=Callable[..., Any])

COOKIE = "cpex_console"
DONE_COOKIE = "cpex_console_done"  # what the last action did, shown once on the next page
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_OPEN = frozenset({"console.sign_in", "console.sign_in_form", "console.static"})
# POSTs that change nothing (a form too large for a query string): monitors may send them.
_READ_ONLY_POSTS = frozenset({"console.sign_out", "console.mapping_check",
                              "console.mapping_preview", "console.mapping_diff"})
SCREENS = (
    ("console.overview", "Overview"),
    ("console.quarantine_list", "Quarantine"),
    ("console.review_list", "Match review"),
    ("console.profiles", "Profiles"),
    ("console.jobs", "Jobs"),
    ("console.partners", "Partners"),
    ("console.mappings", "Mappings"),
    ("console.catalog", "Data dictionary"),
)


class CsrfRefusedError(PermissionDeniedError):
    """A console form sent without its session's CSRF token (HTTP 403)."""

    code = "csrf_refused"


def page(view: F) -> F:
    """Mark a console view: the session check below guards it, not a key header."""
    return access(Access.CONSOLE)(view)


def current() -> ConsoleSession:
    session: ConsoleSession = g.console_session
    return session


def actor() -> str:
    """Who acts, in audit rows and decisions: ``console:<key name>``."""
    return f"console:{current().principal.name}"


def audited(action: str, **detail: Any) -> None:
    """Write the console action to the audit log with the signed-in key's name."""
    AuditLog(gateway_of(current_app).engine).record(
        actor=actor(),
        action=f"console.{action}",
        detail={"key_id": current().principal.key_id, **detail},
    )


def done(location: str, message: str) -> Response:
    """After an action: back to a page (POST, redirect, GET) that says what was done."""
    response = redirect(location)
    response.set_cookie(
        DONE_COOKIE,
        quote(message[:300]),
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=_https(),
    )
    return response  # type: ignore[return-value]


def _sessions() -> SessionStore:
    gateway = gateway_of(current_app)
    return SessionStore(gateway.engine, timedelta(minutes=gateway.settings.console.idle_minutes))


@bp.before_request
def _guard() -> Response | None:
    if request.endpoint in _OPEN:
        return None
    token = request.cookies.get(COOKIE)
    session = _sessions().find(token, datetime.now(UTC)) if token else None
    if session is None:
        return _to_sign_in()
    g.console_session = session
    g.principal = session.principal  # the request log names the key
    if request.method == "POST":
        sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise CsrfRefusedError("the form's CSRF token is missing or stale: reload the page")
        if not session.can_act and request.endpoint not in _READ_ONLY_POSTS:
            raise PermissionDeniedError(
                f"key '{session.principal.key_id}' is a monitor key: the console is read-only"
            )
    return None


def _to_sign_in() -> Response:
    target = request.full_path if request.method == "GET" else "/console/"
    location = f"/console/sign-in?next={_safe_next(target)}"
    if request.headers.get("HX-Request"):
        response = Response(status=401)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    """Only a console path of this site (never another host) is followed after sign-in."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return "/console/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    if (
        DONE_COOKIE in request.cookies
        and response.status_code == 200
        and response.mimetype == "text/html"
        and not request.headers.get("HX-Request")
    ):
        response.delete_cookie(
            DONE_COOKIE, path="/console", httponly=True, samesite="Strict", secure=_https()
        )
    return response


@bp.app_context_processor
def _context() -> dict[str, Any]:
    session = g.get("console_session")
    message = request.cookies.get(DONE_COOKIE)
    shown = unquote(message) if message and not request.headers.get("HX-Request") else None
    screens = [(e, label) for e, label in SCREENS if e in current_app.view_functions]
    return {"console": session, "csrf_field": CSRF_FIELD, "done": shown, "screens": screens}


@bp.errorhandler(GatewayError)
def _error(error: GatewayError) -> tuple[str, int]:
    status = status_for(error)  # the one table: someone got there first is 409 here too
    return render_template(
        "error.html", message=error.message, code=error.code, status=status
    ), status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_template(
        "error.html", message=error.description, code=error.name, status=status
    ), status


@root.get("/")
@page
def home() -> Response:
    """The server's address opens the console."""
    return redirect("/console/")  # type: ignore[return-value]


@bp.get("/static/<path:name>")
@page
def static(name: str) -> Response:
    """The console's vendored scripts and styles."""
    response = send_from_directory(STATIC, name, max_age=3600)
    return response


@bp.get("/sign-in")
@page
def sign_in_form() -> str:
    return render_template("sign_in.html", next=_safe_next(request.args.get("next")), error=None)


@bp.post("/sign-in")
@page
def sign_in() -> Response | tuple[str, int]:
    target = _safe_next(request.form.get("next"))
    if not _same_origin():
        return render_template(
            "sign_in.html", next=target, error="sign-in refused: the form came from another site"
        ), 403
    token = request.form.get("key", "").strip()
    principal = CredentialStore(gateway_of(current_app).engine).verify(token) if token else None
    if principal is None or principal.role not in (Role.ADMIN, Role.MONITOR):
        reason = (
            "that key is not valid (unknown, revoked or expired)"
            if principal is None
            else "partner keys cannot sign in to the console: use an admin or monitor key"
        )
        return render_template("sign_in.html", next=target, error=reason), 401
    cookie, session = _sessions().open(principal, datetime.now(UTC))
    g.console_session = session
    audited("sign_in", role=principal.role.value)
    response = redirect(target)
    response.set_cookie(
        COOKIE, cookie, path="/console", httponly=True, samesite="Strict", secure=_https()
    )
    return response  # type: ignore[return-value]


@bp.post("/sign-out")
@page
def sign_out() -> Response:
    token = request.cookies.get(COOKIE, "")
    audited("sign_out")
    _sessions().close(token)
    response = redirect("/console/sign-in")
    response.delete_cookie(
        COOKIE, path="/console", httponly=True, samesite="Strict", secure=_https()
    )
    return response  # type: ignore[return-value]


def _https() -> bool:
    return request.is_secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def _same_origin() -> bool:
    """Browsers say where a form came from; a sign-in posted from another site is refused."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host
