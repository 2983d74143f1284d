"""API keys for admins and partners: shown once when issued, stored only as a hash.

A key looks like ``cpex_<key id>_<secret>``. The key id (not secret) finds the row; the SHA-256
of the whole key is compared in constant time. A plain hash is enough here because keys are 256
random bits, not passwords a person chose: there is nothing to brute-force. A lookup of an
unknown key id still does one comparison, so timing does not tell which ids exist.

A key may carry an expiry; :meth:`CredentialStore.rotate` issues its successor and lets the old
key run on for an overlap, so a partner can switch without a moment when neither works.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, or_, select, update

from gateway.errors import GatewayError, NotFoundError
from gateway.store.engine import write_transaction
from gateway.store.tables import api_credential

PREFIX = "cpex"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class Role(StrEnum):
    ADMIN = "admin"
    PARTNER = "partner"
    MONITOR = "monitor"  # reads the operational figures (/metrics), nothing else


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id and name, its role and (for partners) the partner id."""

    key_id: str
    name: str
    role: Role
    partner_id: str | None = None


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key as ``keys list`` shows it (never the key itself)."""

    principal: Principal
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    principal: Principal
    token: str  # the only time the whole key exists outside the caller's hands


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _split(token: str) -> str | None:
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


class CredentialStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def issue(self, name: str, role: Role, *, partner_id: str | None = None,
              expires_at: datetime | None = None) -> IssuedKey:
        if role is Role.PARTNER and not partner_id:
            raise GatewayError("a partner key needs the partner's id")
        with write_transaction(self._engine) as conn:
            return self._issue(conn, Principal("", name, role, partner_id), expires_at)

    def rotate(self, key_id: str, *, overlap: timedelta,
               expires_at: datetime | None = None) -> IssuedKey:
        """A new key for the same name, role and partner; the old one expires after ``overlap``
        (sooner if it was to expire sooner). One transaction: both or neither.

        :raises NotFoundError: no active key has that id.
        """
        now = datetime.now(UTC)
        with write_transaction(self._engine) as conn:
            row = conn.execute(select(api_credential).where(
                api_credential.c.key_id == key_id, active_at(now))).first()
            if row is None:
                raise NotFoundError("active key", key_id)
            ends = now + overlap
            if row.expires_at is None or row.expires_at > ends:
                conn.execute(update(api_credential).where(api_credential.c.key_id == key_id)
                             .values(expires_at=ends))
            old = Principal(row.key_id, row.name, Role(row.role), row.partner_id)
            return self._issue(conn, old, expires_at)

    @staticmethod
    def _issue(conn: Connection, like: Principal, expires_at: datetime | None) -> IssuedKey:
        key_id = secrets.token_hex(6)
        token = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32).replace('_', '-')}"
        conn.execute(
            insert(api_credential).values(
                key_id=key_id,
                name=like.name,
                role=like.role.value,
                partner_id=like.partner_id,
                secret_hash=hash_token(token),
                created_at=datetime.now(UTC),
                expires_at=expires_at,
            )
        )
        return IssuedKey(Principal(key_id, like.name, like.role, like.partner_id), token)

    def verify(self, token: str) -> Principal | None:
        """The principal of an active key, or ``None`` (unknown, revoked, expired, malformed)."""
        key_id = _split(token)
        row = None
        if key_id is not None:
            with self._engine.connect() as conn:
                row = conn.execute(
                    select(api_credential).where(
                        api_credential.c.key_id == key_id, active_at(datetime.now(UTC))
                    )
                ).first()
        stored = row.secret_hash if row is not None else _DUMMY_HASH
        if not hmac.compare_digest(stored, hash_token(token)) or row is None:
            return None
        return Principal(row.key_id, row.name, Role(row.role), row.partner_id)

    def revoke(self, key_id: str) -> None:
        with write_transaction(self._engine) as conn:
            done = conn.execute(
                update(api_credential)
                .where(api_credential.c.key_id == key_id, api_credential.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            if done.rowcount == 0:
                raise NotFoundError("active key", key_id)

    def list(self) -> list[KeyRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(api_credential).order_by(api_credential.c.created_at))
            return [
                KeyRecord(
                    Principal(r.key_id, r.name, Role(r.role), r.partner_id),
                    r.created_at,
                    r.revoked_at,
                    r.expires_at,
                )
                for r in rows
            ]


def active_at(now: datetime) -> ColumnElement[bool]:
    """The condition a usable key meets at ``now``: not revoked, not expired."""
    c = api_credential.c
    return and_(c.revoked_at.is_(None), or_(c.expires_at.is_(None), c.expires_at > now))
