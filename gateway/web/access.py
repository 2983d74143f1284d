"""Every endpoint states who may call it; an endpoint without a rule stops the app from starting.

Rules are attached with :func:`access` on the view function and enforced before the view runs:
``PUBLIC`` needs nothing; ``ADMIN`` needs an admin key; ``PARTNER`` needs a partner key;
``MONITOR`` (the metrics) a monitor or an admin key; ``CONSOLE`` pages are left to the console's
own session check (a signed-in admin or monitor, by cookie, never by a key header). A
missing or unknown key is 401, a valid key of the wrong kind is 403. Keys come as
``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). ``check_rules(app)`` runs in the app
factory, so a new route that forgets its rule fails every test that builds the app.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from flask import Flask, g, request

from gateway.errors import AuthenticationError, PermissionDeniedError
from gateway.security.credentials import CredentialStore, Principal, Role
from gateway.web.context import gateway_of

F = TypeVar("F", bound=Callable[..., object])

RULE_ATTRIBUTE = "_cpex_access"


class Access(StrEnum):
    PUBLIC = "public"  # no credentials (health, WSDL)
    PARTNER = "partner"  # a registered partner's key
    ADMIN = "admin"  # an admin key, distinct from partner keys
    MONITOR = "monitor"  # a monitor key (reads operational figures only) or an admin key
    CONSOLE = "console"  # a signed-in console session (gateway/web/console/auth.py checks it)


_ROLES_FOR = {
    Access.PARTNER: frozenset({Role.PARTNER}),
    Access.ADMIN: frozenset({Role.ADMIN}),
    Access.MONITOR: frozenset({Role.MONITOR, Role.ADMIN}),
}


def access(rule: Access) -> Callable[[F], F]:
    def mark(view: F) -> F:
        setattr(view, RULE_ATTRIBUTE, rule)
        return view

    return mark


def rule_of(view: Callable[..., object]) -> Access | None:
    return getattr(view, RULE_ATTRIBUTE, None)


def check_rules(app: Flask) -> None:
    missing = sorted(name for name, view in app.view_functions.items() if rule_of(view) is None)
    if missing:
        raise RuntimeError(f"endpoints without an authorisation rule: {', '.join(missing)}")


def current_principal() -> Principal | None:
    principal: Principal | None = g.get("principal")
    return principal


def init_app(app: Flask) -> None:
    @app.before_request
    def _enforce() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if view is None:  # 404/405: nothing to protect, the error handler answers
            return
        rule = rule_of(view)
        if rule is Access.PUBLIC or rule is Access.CONSOLE:
            return
        token = _presented_token()
        if token is None:
            raise AuthenticationError("credentials required: send 'Authorization: Bearer <key>'")
        principal = CredentialStore(gateway_of(app).engine).verify(token)
        if principal is None:
            raise AuthenticationError("the key is not valid (unknown, revoked or malformed)")
        if rule is None or principal.role not in _ROLES_FOR[rule]:
            raise PermissionDeniedError(
                f"this endpoint needs a {rule or 'declared'} credential; key "
                f"'{principal.key_id}' is a {principal.role} key"
            )
        g.principal = principal


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = request.headers.get("X-API-Key", "").strip()
    return api_key or None
