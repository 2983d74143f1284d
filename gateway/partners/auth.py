"""Partner sign-in by user name and password (HTTP Basic, WS-Security UsernameToken).

API keys are checked by :class:`gateway.security.credentials.CredentialStore`; this covers the
password logins a partner file may declare. An unknown user name still costs one scrypt run, so
timing does not tell which names exist.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from gateway.errors import AuthenticationError
from gateway.partners.passwords import PasswordHash, hash_password, parse_hash, verify_password
from gateway.partners.registry import PartnerRegistry
from gateway.partners.spec import PartnerSpec

LoginKind = Literal["basic", "ws_security"]



@cache
def _dummy_hash() -> PasswordHash:
    """Compared against when the user name is unknown (made on first use, not at import)."""
    return parse_hash(hash_password("no such partner"))


def authenticate_password(
    registry: PartnerRegistry, kind: LoginKind, username: str, password: str
) -> PartnerSpec:
    """The partner whose ``auth.<kind>`` login this is.

    :raises AuthenticationError: unknown user name or wrong password (one message for both).
    """
    partner = registry.by_username(kind, username) if username else None
    login = getattr(partner.auth, kind) if partner is not None else None
    stored = login.parsed_hash if login is not None else _dummy_hash()
    if not verify_password(password, stored) or partner is None:
        label = "HTTP Basic" if kind == "basic" else "UsernameToken"
        raise AuthenticationError(f"{label} credentials are not valid")
    return partner
