"""Password hashes for HTTP Basic and WS-Security UsernameToken: scrypt, compared in constant time.

Unlike API keys (256 random bits, a plain sha256 is enough), these are passwords someone chose,
so they get a slow, salted, memory-hard hash. The stored form is one string that carries its own
parameters, so they can be raised later without breaking older entries:
``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
_MAX_N = 2**20


@dataclass(frozen=True, slots=True)
class PasswordHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def __str__(self) -> str:
        b64 = base64.b64encode
        return (
            f"{SCHEME}${self.n}${self.r}${self.p}$"
            f"{b64(self.salt).decode()}${b64(self.digest).decode()}"
        )


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted scrypt hash of ``password``, in the stored form."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p, HASH_BYTES)
    return str(PasswordHash(n, r, p, salt, digest))


def parse_hash(stored: str) -> PasswordHash:
    """Read the stored form.

    :raises ValueError: it is not ``scrypt$n$r$p$salt$hash`` with sane parameters (the message
        describes the form and never repeats the value).
    """
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("expected 'scrypt$<n>$<r>$<p>$<salt base64>$<hash base64>'")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise ValueError("scrypt parameters must be integers and salt/hash base64") from exc
    if n < 2 or n > _MAX_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError(f"scrypt n must be a power of two up to {_MAX_N}, r 1-32, p 1-16")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt salt must be at least 8 bytes and the hash at least 16")
    return PasswordHash(n, r, p, salt, digest)


def verify_password(password: str, stored: PasswordHash) -> bool:
    """True when ``password`` has this hash (constant-time comparison)."""
    candidate = _scrypt(password, stored.salt, stored.n, stored.r, stored.p, len(stored.digest))
    return hmac.compare_digest(candidate, stored.digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20,
        dklen=length,
    )
