"""PostgreSQL LISTEN/NOTIFY: how hub processes tell each other's subscribers about committed changes.

NOTIFY is delivered only when the notifying transaction commits, so a subscriber never hears of a
change that was rolled back, and every hub process behind a load balancer hears every change.

A process holds one LISTEN connection for all its subscribers (a `Listener`, started by the first
subscription, stopped by `stop_listeners` at shutdown) and fans each notification out to their
queues: subscriptions cost no database connection each. When that connection drops, it reconnects
and wakes every subscriber with `WAKE`, so they re-read what they may have missed by id.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final, TypeVar

import asyncpg
from sqlalchemy.engine import URL

from hub.db import asyncpg_dsn
from hub.errors import HubError

log = logging.getLogger(__name__)
K = TypeVar("K")

# The LISTEN connection's application_name (pg_stat_activity shows it).
APPLICATION_NAME: Final = "credit-hub listen"
# Put in a subscriber's queue instead of a payload: notifications may have been lost, read by id.
WAKE: Final = ""
QUEUE_SIZE = 1_000
CONNECT_TIMEOUT = 5.0  # how long a new subscription waits for the LISTEN connection
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # reconnecting, then every 5 s


class SubscriptionRefused(HubError):
    """A subscription refused before it starts (a limit) or ended by a failure of the hub's own."""

    default_code = "SUBSCRIPTION_UNAVAILABLE"


class Listener:
    """One LISTEN connection shared by every subscriber of this process (for one database)."""

    def __init__(self, url: URL) -> None:
        self._dsn = asyncpg_dsn(url)
        self._queues: dict[str, set[asyncio.Queue[str]]] = {}
        self._listened: set[str] = set()
        self._connection: Any = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether its LISTEN connection is open now."""
        return self._connection is not None

    @property
    def subscribers(self) -> int:
        return sum(len(queues) for queues in self._queues.values())

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue that receives the payload of every notification on `channel` while the block runs
        (and `WAKE` after a reconnection). Raises SubscriptionRefused when the database cannot be reached."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.setdefault(channel, set()).add(queue)
        try:
            await self._until_listening(channel)
            yield queue
        finally:
            queues = self._queues.get(channel)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._queues[channel]  # the connection keeps listening: cheap, and often reused

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with _suppressed():
                await task

    async def _until_listening(self, channel: str) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="credit-hub listener")
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                while True:
                    await self._connected.wait()
                    async with self._lock:
                        if channel in self._listened:
                            return
                        if self._connection is not None:
                            try:
                                await self._connection.add_listener(channel, self._deliver)
                            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                                # The connection just dropped: `_run` reconnects and listens to it.
                                log.warning("LISTEN failed", extra={"error_type": type(error).__name__})
                                await asyncio.sleep(0.05)
                                continue
                            self._listened.add(channel)
                            return
        except TimeoutError:
            raise SubscriptionRefused("change notifications are unavailable; try again later") from None

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._queues:
                return  # nobody to listen for: the next subscription starts a new task
            try:
                connection = await asyncpg.connect(
                    self._dsn,
                    timeout=CONNECT_TIMEOUT,
                    server_settings={"application_name": APPLICATION_NAME},
                )
            except Exception as error:  # unreachable, refused, too many clients: retry
                log.warning("listener cannot connect", extra={"error_type": type(error).__name__})
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
            try:
                async with self._lock:
                    for channel in list(self._queues):
                        await connection.add_listener(channel, self._deliver)
                        self._listened.add(channel)
                    self._connection = connection
                    self._connected.set()
                if failures:
                    log.info("listener reconnected")
                    self._wake_all()  # what was notified while disconnected is read by id
                failures = 0
                await lost.wait()
                log.warning("listener connection lost; reconnecting")
            except Exception as error:  # whatever broke, the next connection starts afresh
                log.warning("listener failed", extra={"error_type": type(error).__name__})
            finally:
                self._connected.clear()
                self._connection = None
                self._listened.clear()
                with _suppressed():
                    await asyncio.shield(connection.close(timeout=2))
            failures += 1
            await asyncio.sleep(RETRY_SECONDS[0])

    def _deliver(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        for queue in self._queues.get(channel, ()):
            # A slow subscriber drops notifications rather than growing memory; it catches up by id.
            if not queue.full():
                queue.put_nowait(payload)

    def _wake_all(self) -> None:
        for queues in self._queues.values():
            for queue in queues:
                if not queue.full():
                    queue.put_nowait(WAKE)


@contextmanager
def _suppressed() -> Iterator[None]:
    try:
        yield
    except (Exception, asyncio.CancelledError) as error:
        log.debug("listener: ignored on shutdown", extra={"error_type": type(error).__name__})


# One listener per database per event loop (a process runs one loop; tests run several in turn).
_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Listener]] = (
    weakref.WeakKeyDictionary()
)


def listener_for(url: URL) -> Listener:
    """This process's listener for the database at `url`, created on first use."""
    per_loop = _listeners.setdefault(asyncio.get_running_loop(), {})
    key = url.render_as_string(hide_password=False)
    if key not in per_loop:
        per_loop[key] = Listener(url)
    return per_loop[key]


def listen_connections() -> int:
    """This loop's open LISTEN connections (one per database; metrics read it when scraped)."""
    try:
        per_loop = _listeners.get(asyncio.get_running_loop(), {})
    except RuntimeError:  # no running loop: nothing listens
        return 0
    return sum(listener.connected for listener in per_loop.values())


async def stop_listeners() -> None:
    """Close this loop's LISTEN connections (the app's shutdown)."""
    for listener in _listeners.pop(asyncio.get_running_loop(), {}).values():
        await listener.stop()


@asynccontextmanager
async def listening(url: URL, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    """A queue that receives the payload of every notification on `channel` while the block runs,
    through the process's shared LISTEN connection."""
    async with listener_for(url).subscribe(channel) as queue:
        yield queue


class Admission:
    """Counts the open subscriptions of each connection and each caller, and refuses past a limit."""

    def __init__(self) -> None:
        self._connections: Counter[int] = Counter()
        self._callers: Counter[str] = Counter()

    @contextmanager
    def admit(
        self, connection: object, caller: str, *, per_connection: int, per_caller: int
    ) -> Iterator[None]:
        key = id(connection)  # alive while any of its subscriptions runs, so the id is not reused
        if self._connections[key] >= per_connection:
            raise SubscriptionRefused(
                f"at most {per_connection} subscriptions per connection", code="SUBSCRIPTION_LIMIT_CONNECTION"
            )
        if self._callers[caller] >= per_caller:
            raise SubscriptionRefused(
                f"at most {per_caller} subscriptions per caller", code="SUBSCRIPTION_LIMIT_CALLER"
            )
        self._connections[key] += 1
        self._callers[caller] += 1
        try:
            yield
        finally:
            _release(self._connections, key)
            _release(self._callers, caller)

    def open(self, caller: str) -> int:
        return self._callers[caller]

    @property
    def total(self) -> int:
        """Open subscriptions in this process (for metrics)."""
        return sum(self._callers.values())


def _release(counter: Counter[K], key: K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


admission = Admission()
