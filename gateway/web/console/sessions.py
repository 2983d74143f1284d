"""Console sign-in sessions, kept server-side in the CRM base (``console_session``).

The browser holds a random token in an HttpOnly cookie; the table holds its SHA-256, the key the
session was opened with and the session's CSRF token. A session is found only while it has been
used within the idle timeout and its key is still active, so revoking a key (or its expiry)
signs its console sessions out at their next request. Every web process shares the table.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.security.credentials import Principal, Role, active_at, hash_token
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import api_credential, console_session

# last_seen_at is written at most this often (not on every page view), so the idle timeout is
# exact to within a minute.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal: Principal
    csrf_token: str

    @property
    def can_act(self) -> bool:
        """Admins act; monitor keys see everything read-only."""
        return self.principal.role is Role.ADMIN


class SessionStore:
    def __init__(self, engine: Engine, idle: timedelta) -> None:
        self._engine = engine
        self._idle = idle

    def open(self, principal: Principal, now: datetime) -> tuple[str, ConsoleSession]:
        """A new session for a verified key; returns the cookie token (shown to nobody else)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    delete(console_session).where(console_session.c.last_seen_at < now - self._idle)
                )
                conn.execute(
                    insert(console_session).values(
                        token_hash=hash_token(token),
                        key_id=principal.key_id,
                        csrf_token=csrf,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
        except SQLAlchemyError as exc:
            raise store_error("opening a console session", exc) from exc
        return token, ConsoleSession(principal, csrf)

    def find(self, token: str, now: datetime) -> ConsoleSession | None:
        """The live session of a cookie token, or None (unknown, idle too long, key gone)."""
        c, k = console_session.c, api_credential.c
        query = (
            select(c.csrf_token, c.last_seen_at, k.key_id, k.name, k.role, k.partner_id)
            .join(api_credential, k.key_id == c.key_id)
            .where(
                c.token_hash == hash_token(token),
                c.last_seen_at >= now - self._idle,
                active_at(now),
            )
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
            if row is None:
                return None
            if now - row.last_seen_at >= _TOUCH_EVERY:
                with write_transaction(self._engine) as conn:
                    conn.execute(
                        update(console_session)
                        .where(c.token_hash == hash_token(token))
                        .values(last_seen_at=now)
                    )
        except SQLAlchemyError as exc:
            raise store_error("reading a console session", exc) from exc
        role = Role(row.role)
        if role not in (Role.ADMIN, Role.MONITOR):
            return None
        return ConsoleSession(Principal(row.key_id, row.name, role, row.partner_id), row.csrf_token)

    def close(self, token: str) -> None:
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    delete(console_session).where(console_session.c.token_hash == hash_token(token))
                )
        except SQLAlchemyError as exc:
            raise store_error("closing a console session", exc) from exc
