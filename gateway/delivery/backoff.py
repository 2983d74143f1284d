"""When to try a failed delivery again: exponential backoff with jitter, capped.

Jitter spreads the retries of many deliveries that failed together (a partner outage) so they do
not all come back in the same second when the partner returns.
"""

from __future__ import annotations

import random
from datetime import timedelta


def retry_delay(
    attempts: int,
    *,
    base_seconds: float,
    max_seconds: float,
    jitter: float,
    rng: random.Random | None = None,
) -> timedelta:
    """The wait after the ``attempts``-th failure (1 for the first): ``base * 2**(attempts-1)``,
    capped at ``max_seconds``, then spread by ``+-jitter`` (a fraction)."""
    if attempts < 1:
        raise ValueError(f"attempts counts failures from 1 (got {attempts})")
    exponent = min(attempts - 1, 32)  # 2**32 * base is past any cap; avoids huge floats
    delay = min(base_seconds * (2**exponent), max_seconds)
    spread = (rng or random).uniform(-jitter, jitter) if jitter else 0.0
    return timedelta(seconds=max(0.0, delay * (1 + spread)))
