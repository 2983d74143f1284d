"""Every endpoint states who may call it; an endpoint without a rule stops the app from starting.

Rules are attached with :func:`access` on the view function. ``check_rules(app)`` runs in the app
factory, so a new route that forgets its rule fails every test that builds the app.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from flask import Flask

F = TypeVar("F", bound=Callable[..., object])

RULE_ATTRIBUTE = "_cpex_access"


class Access(StrEnum):
    PUBLIC = "public"  # no credentials (health, WSDL)
    PARTNER = "partner"  # a registered partner's credentials
    ADMIN = "admin"  # an admin credential, distinct from partner keys


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
