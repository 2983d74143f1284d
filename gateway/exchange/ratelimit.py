"""Per-partner request limits, counted in this process (a sliding window of request times).

Each web process counts on its own, so N processes let a partner through up to N times its
limit: enough to stop a runaway client, not an accounting tool. A shared counter (PostgreSQL or
the proxy in front) is the step up when that matters.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from gateway.exchange.errors import RateLimitedError
from gateway.partners.spec import PartnerSpec


class RateLimiter:
    """Admits a partner's request, or raises :class:`RateLimitedError` past its limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, partner: PartnerSpec) -> None:
        limit = partner.rate_limit
        if limit is None:
            return
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(partner.id, deque())
            while times and times[0] <= now - limit.per_seconds:
                times.popleft()
            if len(times) >= limit.requests:
                raise RateLimitedError(partner.id, limit.requests, limit.per_seconds)
            times.append(now)
