"""Rate limits per caller: a token bucket per bearer token (per client address for the public).

In-process: each hub process keeps its own buckets, so with N processes behind a load balancer a
caller gets up to N times its rate. Enough to stop one caller from saturating a process.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
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


class AdmissionLimit:
    """How many requests the process serves at once: at most `ceiling`, fewer while the event loop
    falls behind, down to `floor`; a few more wait their turn in a short queue.

    One event loop runs every request's Python work. While it keeps up, more requests at once cost
    nothing (they wait for the database, not for each other); once it falls behind, each further
    request only makes all the others slower, so it is better refused at once (503 with Retry-After)
    than served late. The loop is looked at every INTERVAL while requests come in: a look that runs
    more than BEHIND late, while the loop's thread was running Python for at least a quarter of the
    time since the last look, means the loop had other work queued, and the limit halves (lateness
    alone may be the operating system's: a process set aside runs nothing meanwhile; a quarter, not
    a half, because on a machine whose other processes want the CPU too, a loop that has work
    queued gets only its share of the time, and it is behind all the same);
    GROW_AFTER looks in a row without that raise it by one (an idle spell too, per as long), back
    to `ceiling`.

    A request that finds every slot taken waits for the next one to free. How long, and behind how
    many, depends on whether the process is overloaded or only meets a burst (controlled delay, as
    in CoDel and Facebook's server queues): while no request was refused for OVERLOAD_MEMORY, a
    burst is arriving at a process that was keeping up, and up to BURST requests may wait up to
    BURST_WAIT each (a client's 50 requests at once are served, not refused); once those are used
    or a request was refused (the queue full, or a wait too long), the process is overloaded, and
    a request waits at most QUEUE_WAIT behind at most `floor` others: a slot is then seldom idle
    while requests arrive, and none waits longer than about one request's time. BURST is small
    against what a process serves in a second, so a sustained overload pays for it only at its start.
    """

    INTERVAL = 0.005  # seconds between two looks at the loop
    BEHIND = 0.001  # seconds late: the loop had other work queued
    GROW_AFTER = 10  # looks on time in a row before the limit grows by one
    QUEUE_WAIT = 0.02  # seconds a request waits for a slot at most, under overload
    BURST_WAIT = 0.25  # …and in a burst
    BURST = 64  # requests that may wait BURST_WAIT, once the process has kept up for OVERLOAD_MEMORY
    OVERLOAD_MEMORY = 1.0  # seconds after a refusal during which the process counts as overloaded

    def __init__(self, ceiling: int, floor: int) -> None:
        self.ceiling, self.floor = ceiling, max(1, min(floor, ceiling))
        self.limit = ceiling
        self.active = 0  # requests holding a slot (one event loop: no lock needed)
        self.waiting: deque[asyncio.Future[None]] = deque()
        self._armed = False
        self._on_time = 0  # looks on time in a row
        self._last = 0.0  # loop time of the last look
        self._cpu = 0.0  # the thread's CPU time when the next look was set
        self._refused_at = -math.inf  # loop time of the last refusal
        self._burst_left = self.BURST  # requests that may still wait as part of a burst

    async def enter(self) -> bool:
        """Take a slot (give it back with `leave`); False when refused: the queue is full or the
        wait was too long."""
        loop = asyncio.get_running_loop()
        if not self._armed:
            now = loop.time()
            idle = int((now - self._last) / (self.INTERVAL * self.GROW_AFTER)) if self._last else self.ceiling
            self.limit = min(self.ceiling, self.limit + idle)
            self._arm(loop, now)
        if self.active < self.limit and not self.waiting:
            self.active += 1
            return True
        now = loop.time()
        if not self.waiting and now - self._refused_at > self.OVERLOAD_MEMORY:
            self._burst_left = self.BURST  # kept up for a while: a new burst may wait again
        burst = self._burst_left > 0 and now - self._refused_at > self.OVERLOAD_MEMORY
        if not burst and len(self.waiting) >= self.floor:
            self._refused_at = now
            return False
        if burst:
            self._burst_left -= 1
        turn: asyncio.Future[None] = loop.create_future()
        self.waiting.append(turn)
        try:
            async with asyncio.timeout(self.BURST_WAIT if burst else self.QUEUE_WAIT):
                await asyncio.shield(turn)
        except BaseException as exc:
            if turn.done():  # the slot was handed over as the wait ended: pass it on
                self.leave()
            else:
                turn.cancel()
                self.waiting.remove(turn)
            if isinstance(exc, TimeoutError):
                self._refused_at = loop.time()
                return False
            raise
        return True

    def leave(self) -> None:
        """Give a slot back: to the first request waiting, unless the limit has dropped below it."""
        if self.active <= self.limit:
            while self.waiting:
                turn = self.waiting.popleft()
                if not turn.done():
                    turn.set_result(None)  # the slot goes to it as it is
                    return
        self.active -= 1

    def _arm(self, loop: asyncio.AbstractEventLoop, now: float) -> None:
        self._armed = True
        self._cpu = time.thread_time()
        loop.call_at(now + self.INTERVAL, self._look, loop, now + self.INTERVAL)

    def _look(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = self._last = loop.time()
        busy = time.thread_time() - self._cpu
        late = now - due
        if late > self.BEHIND and busy >= (late + self.INTERVAL) / 4:
            self.limit = max(self.floor, self.limit // 2)
            self._on_time = 0
        elif late > self.BEHIND:  # the thread did not run: the operating system's delay, not ours
            pass
        else:
            self._on_time += 1
            if self._on_time >= self.GROW_AFTER:
                self.limit = min(self.ceiling, self.limit + 1)
                self._on_time = 0
        self._armed = False
        if self.limit < self.ceiling or self.active:  # keep looking while it matters
            self._arm(loop, now)
