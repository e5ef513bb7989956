"""The adaptive limit of concurrent requests (hub.web.limits.AdmissionLimit): a busy event loop lowers
it to its floor; a freed slot goes to the request waiting for it; the wait is short and bounded, and a
burst at a process that kept up waits a little longer instead of being refused."""

from __future__ import annotations

import asyncio
import time

from hub.web.limits import AdmissionLimit


def _hold_the_loop(seconds: float) -> None:
    """CPU work of a request, on the loop's thread."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def test_a_loop_set_aside_by_the_operating_system_keeps_the_limit() -> None:
    limit = AdmissionLimit(ceiling=16, floor=2)
    assert await limit.enter()
    for _ in range(6):  # late looks, but the loop's thread did not run meanwhile (as when descheduled)
        time.sleep(0.02)  # noqa: ASYNC251 -- on purpose: the thread holds the loop without running
        await asyncio.sleep(AdmissionLimit.INTERVAL * 2)
    assert limit.limit == 16
    limit.leave()


async def test_an_event_loop_that_falls_behind_lowers_the_limit_to_its_floor() -> None:
    limit = AdmissionLimit(ceiling=16, floor=2)
    assert await limit.enter()
    assert limit.limit == 16
    for _ in range(6):  # each look at the loop comes 20 ms late: the limit halves, down to the floor
        _hold_the_loop(0.02)
        await asyncio.sleep(AdmissionLimit.INTERVAL * 2)
    assert limit.limit == 2
    assert await limit.enter()  # two at once: the floor
    limit.leave()
    limit.leave()
    assert limit.active == 0


def _overloaded(limit: AdmissionLimit) -> None:
    """As after a refusal: the process counts as overloaded for OVERLOAD_MEMORY."""
    limit._refused_at = asyncio.get_running_loop().time()


async def test_a_freed_slot_goes_to_the_request_waiting_for_it() -> None:
    limit = AdmissionLimit(ceiling=1, floor=1)
    assert await limit.enter()
    _overloaded(limit)
    waiting = asyncio.create_task(limit.enter())
    await asyncio.sleep(0)
    assert not await limit.enter()  # the queue (one place at the floor of 1) is full: refused at once
    limit.leave()
    assert await waiting  # it took the slot: active stayed 1, no newcomer could take it first
    assert limit.active == 1
    started = time.perf_counter()
    assert not await limit.enter()  # no slot frees: refused after QUEUE_WAIT
    assert AdmissionLimit.QUEUE_WAIT <= time.perf_counter() - started < AdmissionLimit.BURST_WAIT
    limit.leave()
    assert limit.active == 0


async def test_a_burst_at_a_process_that_kept_up_waits_instead_of_being_refused() -> None:
    limit = AdmissionLimit(ceiling=1, floor=1)
    assert await limit.enter()
    burst = [asyncio.create_task(limit.enter()) for _ in range(AdmissionLimit.BURST)]
    await asyncio.sleep(0)
    assert len(limit.waiting) == AdmissionLimit.BURST  # all wait; none refused
    assert not await limit.enter()  # one more than the burst: the process is overloaded now
    for task in burst:  # each freed slot goes to the next of the burst, in order
        limit.leave()
        assert await task
    limit.leave()
    assert limit.active == 0
    # Overloaded: the queue is back to the floor, and waits are short.
    assert await limit.enter()
    waiting = asyncio.create_task(limit.enter())
    await asyncio.sleep(0)
    assert not await limit.enter()
    limit.leave()
    assert await waiting
    limit.leave()


async def test_a_burst_that_waits_too_long_is_refused_after_the_burst_wait() -> None:
    limit = AdmissionLimit(ceiling=1, floor=1)
    assert await limit.enter()
    started = time.perf_counter()
    assert not await limit.enter()  # no slot frees within BURST_WAIT
    assert AdmissionLimit.BURST_WAIT <= time.perf_counter() - started < 1.0
    limit.leave()
