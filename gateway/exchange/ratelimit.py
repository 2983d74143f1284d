"""Per-partner request limits, counted in the CRM base so that every web process shares them.

N gunicorn workers on any number of hosts see one count per partner: the limit a partner file
sets is the limit the partner gets, not N times it. The count is a sliding window approximated
from two fixed windows (the current one and the one before, weighted by how much of it still
overlaps the sliding window), as rate limiters at scale commonly do: one small row per partner
and window, one upsert per request, no list of request times. Only the current and previous
windows are kept; older rows are deleted when a partner's new window begins.

A refused request is not counted (its increment is rolled back), so a client that keeps retrying
while over the limit gets through again as soon as its earlier requests age out.

:class:`LoginThrottle` counts failed password logins the same way, per login name and per source
address: past either limit a login is refused before its password is checked (each check is a
deliberately slow scrypt run, about 40 ms of CPU), with the seconds to wait.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from gateway.exchange.errors import LoginThrottledError, RateLimitedError
from gateway.partners.spec import PartnerSpec, RateLimit
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import rate_window


class RateLimiter:
    """Admits a partner's request, or raises :class:`RateLimitedError` past its limit."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock  # wall-clock seconds: windows must agree across processes and hosts

    def admit(self, partner: PartnerSpec) -> None:
        limit = partner.rate_limit
        if limit is None:
            return
        wait = self._admit(partner.id, limit, count=True)
        if wait is not None:
            raise RateLimitedError(partner.id, limit.requests, limit.per_seconds, retry_after=wait)

    def wait_for(self, scope: str, limit: RateLimit) -> int | None:
        """Seconds until ``scope`` may act again, or None if it is under its limit (not counted)."""
        return self._admit(scope, limit, count=False)

    def count(self, scope: str, limit: RateLimit) -> None:
        """Count one hit of ``scope`` (whatever its count: what is counted did happen)."""
        now = self._clock()
        try:
            with write_transaction(self._engine) as conn:
                self._count(conn, scope, int(now // limit.per_seconds))
        except SQLAlchemyError as exc:
            raise store_error(f"counting for '{scope}'", exc) from exc

    def _admit(self, scope: str, limit: RateLimit, *, count: bool) -> int | None:
        """None when one more hit fits in ``scope``'s sliding window (and it is counted, if
        ``count``); else the whole seconds to wait."""
        now = self._clock()
        span = limit.per_seconds
        window = int(now // span)
        overlap = 1.0 - (now - window * span) / span  # share of the previous window still in
        try:
            with write_transaction(self._engine) as conn:
                # this hit included: counted now, or only supposed
                hits = (
                    self._count(conn, scope, window)
                    if count
                    else (self._hits(conn, scope, window) + 1)
                )
                previous = self._hits(conn, scope, window - 1)
                if previous * overlap + hits > limit.requests:
                    wait = _seconds_until_below(previous, hits - 1, limit.requests, now, span)
                    if count:  # the refused hit is rolled back with the transaction
                        raise _Refused(wait)
                    return wait
        except _Refused as refused:
            return refused.wait
        except SQLAlchemyError as exc:
            raise store_error(f"counting requests of '{scope}'", exc) from exc
        return None

    @staticmethod
    def _hits(conn: Connection, scope: str, window: int) -> int:
        found = conn.execute(
            select(rate_window.c.hits).where(
                rate_window.c.scope == scope, rate_window.c.window_no == window
            )
        ).scalar_one_or_none()
        return int(found or 0)

    def _count(self, conn: Connection, scope: str, window: int) -> int:
        """This request's hit in the window; the first hit of a window clears older windows."""
        insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(rate_window)
            .values(scope=scope, window_no=window, hits=1)
            .on_conflict_do_update(
                index_elements=[rate_window.c.scope, rate_window.c.window_no],
                set_={"hits": rate_window.c.hits + 1},
            )
            .returning(rate_window.c.hits)
        )
        hits = int(conn.execute(statement).scalar_one())
        if hits == 1:
            conn.execute(
                delete(rate_window).where(
                    rate_window.c.scope == scope, rate_window.c.window_no < window - 1
                )
            )
        return hits


def _seconds_until_below(previous: int, current: int, limit: int, now: float, span: int) -> int:
    """Whole seconds until one more request fits: the previous window's weight falls linearly
    to nothing by the end of this window; after that only this window's count matters."""
    window_end = (now // span + 1) * span
    if current + 1 > limit:  # this window alone is full: wait for it to pass
        return max(1, math.ceil(window_end - now))
    room = limit - current - 1  # how much of the previous window's weight may remain
    # previous * (window_end - t) / span <= room  =>  t >= window_end - room * span / previous
    fits_at = window_end - (room * span / previous if previous else span)
    return max(1, math.ceil(fits_at - now))


class _Refused(Exception):
    """Raised inside the counting transaction to roll the refused hit back."""

    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait


class LoginThrottle:
    """Failed password logins, per login name and per source address (module doc)."""

    def __init__(
        self,
        limiter: RateLimiter,
        per_name: RateLimit | None = None,
        per_address: RateLimit | None = None,
    ) -> None:
        self._limiter = limiter
        self.per_name = per_name or RateLimit(requests=10, per_seconds=60)
        self.per_address = per_address or RateLimit(requests=30, per_seconds=60)

    def check(self, name: str, address: str | None) -> None:
        """:raises LoginThrottledError: too many failed logins lately, by name or address."""
        for scope, limit, what in self._scopes(name, address):
            wait = self._limiter.wait_for(scope, limit)
            if wait is not None:
                raise LoginThrottledError(what, limit.requests, limit.per_seconds, wait)

    def failed(self, name: str, address: str | None) -> None:
        for scope, limit, _ in self._scopes(name, address):
            self._limiter.count(scope, limit)

    def _scopes(self, name: str, address: str | None) -> list[tuple[str, RateLimit, str]]:
        # Hashed: a login name may be anything a caller sends, of any length.
        digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:32]
        scopes = [(f"login-name:{digest}", self.per_name, "this login name")]
        if address:
            scopes.append((f"login-addr:{address[:45]}", self.per_address, "this address"))
        return scopes
