"""Signed deliveries: an HMAC over the body, so a partner can tell our messages from forgeries.

A REST or webhook delivery to a partner with a ``signing_secret_env`` in ``delivery.toml`` carries

    CPEX-Signature: t=1732435200,v1=5f2b…(64 hex digits)

where ``v1`` is HMAC-SHA256, keyed with the shared secret, of ``"<t>."`` followed by the exact
body bytes, and ``t`` is the Unix time of sending. The timestamp is inside the MAC, so a receiver
that also refuses old ``t`` (five minutes is usual) refuses replays of a captured request; the
``Idempotency-Key`` header covers honest repeats. This is the scheme Stripe and GitHub webhooks
use, so receivers have ready code for it; :func:`verify` is the reference in Python.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "CPEX-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A signature header that is missing, malformed, stale or wrong (receiver side)."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={_mac(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str | None, *, now: float,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> int:
    """Check a received header against the body; returns its timestamp.

    :raises SignatureError: no header, no timestamp or ``v1`` part, a timestamp further than
        ``tolerance`` seconds from ``now``, or no ``v1`` value that matches.
    """
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError(f"{SIGNATURE_HEADER} has no timestamp t=") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"{SIGNATURE_HEADER} timestamp is more than {tolerance} s off")
    expected = _mac(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, given) for given in parts.get(SCHEME, ())):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")
    return timestamp


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
