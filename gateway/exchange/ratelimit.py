"""Per-partner request limits, counted in the CRM base so that every web process shares them.

N gunicorn workers on any number of hosts see one count per partner: the limit a partner file
sets is the limit the partner gets, not N times it. The count is a sliding window approximated
from two fixed windows (the current one and the one before, weighted by how much of it still
overlaps the sliding window), as rate limiters at scale commonly do: one small row per partner
and window, one upsert per request, no list of request times. Only the current and previous
windows are kept; older rows are deleted when a partner's new window begins.

A refused request is not counted (its increment is rolled back), so a client that keeps retrying
while over the limit gets through again as soon as its earlier requests age out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from gateway.exchange.errors import RateLimitedError
from gateway.partners.spec import PartnerSpec
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
        now = self._clock()
        span = limit.per_seconds
        window = int(now // span)
        overlap = 1.0 - (now - window * span) / span  # share of the previous window still in
        try:
            with write_transaction(self._engine) as conn:
                hits = self._count(conn, partner.id, window)
                previous = conn.execute(
                    select(rate_window.c.hits).where(
                        rate_window.c.scope == partner.id, rate_window.c.window_no == window - 1
                    )
                ).scalar_one_or_none() or 0
                if previous * overlap + hits > limit.requests:
                    # Raised inside the transaction: the refused request's hit is rolled back.
                    wait = _seconds_until_below(previous, hits - 1, limit.requests, now, span)
                    raise RateLimitedError(partner.id, limit.requests, span, retry_after=wait)
        except SQLAlchemyError as exc:
            raise store_error(f"counting requests of partner '{partner.id}'", exc) from exc

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
            conn.execute(delete(rate_window).where(
                rate_window.c.scope == scope, rate_window.c.window_no < window - 1))
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
