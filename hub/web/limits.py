"""Rate limits per caller: a token bucket per bearer token (per client address for the public).

In-process: each hub process keeps its own buckets, so with N processes behind a load balancer a
caller gets up to N times its rate. Enough to stop one caller from saturating a process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from hub.auth.caller import Caller, Role

# Buckets kept at most; past it, the full ones (idle callers) are dropped. Bounds the public's
# buckets, which are keyed by client address.
MAX_BUCKETS = 10_000


class RateLimiter:
    """`per_minute` maps a role to the requests a caller of it may make per minute, with a burst of
    as many; a role absent from it is not limited."""

    def __init__(self, per_minute: Mapping[str, int]) -> None:
        self.per_minute = {Role(role): int(rate) for role, rate in per_minute.items()}
        self.buckets: dict[tuple[str, object], tuple[float, float]] = {}  # key → (tokens, at)

    def retry_after(self, caller: Caller, client: str | None) -> int | None:
        """None when the request may go on (it takes one token); else the seconds until it may."""
        rate = self.per_minute.get(caller.role)
        if rate is None:
            return None
        if rate <= 0:
            return 60
        key = (caller.role.value, caller.token_id if caller.token_id is not None else client)
        now = time.monotonic()
        tokens, at = self.buckets.get(key, (float(rate), now))
        tokens = min(float(rate), tokens + (now - at) * rate / 60)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) * 60 / rate))
        if len(self.buckets) >= MAX_BUCKETS and key not in self.buckets:
            self._drop_idle(now)
        self.buckets[key] = (tokens - 1, now)
        return None

    def _drop_idle(self, now: float) -> None:
        for key, (tokens, at) in list(self.buckets.items()):
            rate = self.per_minute[Role(key[0])]
            if tokens + (now - at) * rate / 60 >= rate:
                del self.buckets[key]
        if len(self.buckets) >= MAX_BUCKETS:  # all busy: forget them rather than grow
            self.buckets.clear()
