"""Partner rate limits counted in the CRM base: shared by every process on the database, a
sliding window, refused requests not counted (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from gateway.exchange.errors import RateLimitedError
from gateway.exchange.ratelimit import RateLimiter
from gateway.partners.spec import PartnerSpec
from gateway.store.engine import make_engine
from gateway.store.tables import rate_window

WINDOW = 60
START = 1_800_000_000.0  # a window boundary (a multiple of 60)


def partner(pid: str = "acme", requests: int = 3) -> PartnerSpec:
    return PartnerSpec.model_validate({
        "version": 1, "id": pid, "name": pid.title(),
        "privacy": {"recipient": "same", "purposes": ["current"]},
        "rate_limit": {"requests": requests, "per_seconds": WINDOW},
    })


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_limit_is_shared_by_processes_and_refusals_are_not_counted(
        migrated_engine: Engine) -> None:
    clock = Clock(START + 10)
    # Two engines on one database stand for two web processes.
    other_engine = make_engine(migrated_engine.url)
    try:
        first, second = RateLimiter(migrated_engine, clock), RateLimiter(other_engine, clock)
        acme = partner()
        first.admit(acme)
        second.admit(acme)
        first.admit(acme)
        for limiter in (second, first, second):
            with pytest.raises(RateLimitedError) as refused:
                limiter.admit(acme)
        assert refused.value.code == "rate_limited"
        assert refused.value.retry_after == 50  # this window alone is full until it ends
        hits = select(rate_window.c.hits).where(rate_window.c.scope == "acme")
        with migrated_engine.connect() as conn:
            assert conn.execute(hits).scalar_one() == 3  # the three refusals left no trace
        first.admit(partner("globex"))  # other partners have counts of their own
    finally:
        other_engine.dispose()


def test_the_window_slides_and_old_windows_are_dropped(migrated_engine: Engine) -> None:
    clock = Clock(START + 59)
    limiter, acme = RateLimiter(migrated_engine, clock), partner()
    for _ in range(3):
        limiter.admit(acme)
    clock.now = START + WINDOW + 30  # half of the previous window still counts: 1.5 requests
    limiter.admit(acme)  # 1.5 + 1 <= 3
    with pytest.raises(RateLimitedError) as refused:
        limiter.admit(acme)  # 1.5 + 2 > 3
    # One more fits once the previous window's weight is down to 1 (a third of it left).
    assert refused.value.retry_after == 10
    clock.now = START + WINDOW + 40
    limiter.admit(acme)
    clock.now = START + 3 * WINDOW + 1  # a new window two windows on: the old rows go
    limiter.admit(acme)
    windows = select(rate_window.c.window_no).where(rate_window.c.scope == "acme")
    with migrated_engine.connect() as conn:
        assert conn.execute(windows).scalars().all() == [int(START // WINDOW) + 3]
        assert conn.execute(select(func.count()).select_from(rate_window)).scalar_one() == 1


def test_no_limit_means_no_count(migrated_engine: Engine) -> None:
    free = PartnerSpec.model_validate({
        "version": 1, "id": "free", "name": "Free",
        "privacy": {"recipient": "same", "purposes": ["current"]},
    })
    limiter = RateLimiter(migrated_engine, Clock())
    for _ in range(10):
        limiter.admit(free)
    with migrated_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rate_window)).scalar_one() == 0
