"""DataLoaders, made per request: one statement per kind of data, however many objects ask."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from hub.auth import service as auth
from hub.disclosure.gate import Disclosure
from hub.entities import service as entities
from hub.entities.service import EntityRow
from hub.models import Organisation
from hub.ports import KeyProvider
from hub.records.archive import service as archive
from hub.records.archive.service import PageRequest, RecordFilter, RecordView, SourceSummary

K = TypeVar("K")
T = TypeVar("T")


class _Turns:
    """Waiters go on while the current turn of the event loop has used less than SLICE of CPU time;
    the others wait for the next turn (each turn polls the sockets first). CPU time, not wall time:
    a process the operating system sets aside meanwhile has not held the loop."""

    SLICE = 0.05  # seconds of the loop thread's CPU time per turn

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.since: float | None = None  # thread CPU time at the first waiter of this turn

    async def take(self) -> None:
        while True:
            now = time.thread_time()
            if self.since is None:
                self.since = now
                self.loop.call_soon(self._next_turn)
            if not self.waiting and now - self.since < self.SLICE:
                return
            turn = self.loop.create_future()
            self.waiting.append(turn)
            await turn

    def _next_turn(self) -> None:
        """Wake every waiter; they go on in the next turn, as many as its slice allows."""
        self.since = None
        waiting, self.waiting = self.waiting, deque()
        for turn in waiting:
            if not turn.done():  # not cancelled
                turn.set_result(None)


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


class PacedDataLoader(DataLoader[K, T]):
    """A DataLoader whose waiters go on a slice of CPU time at a time (_Turns).

    A batch resolves every waiter at once: a list of 100 entities asking for their records would
    otherwise have GraphQL complete all 100 pages in one turn of the event loop, which polls no
    socket meanwhile, so every other request (/healthz included) would wait for all of it. Cheap
    waiters all go on in the same turn, so what they load next is still loaded in one batch."""

    async def load(self, key: K) -> T:
        value = await super().load(key)
        loop = asyncio.get_running_loop()
        turns = _turns.get(loop)
        if turns is None:
            turns = _turns[loop] = _Turns(loop)
        await turns.take()
        return value


class Loaders:
    def __init__(self, session: AsyncSession, gate: Disclosure, today: dt.date, keys: KeyProvider) -> None:
        self.session, self.gate, self.today, self.keys = session, gate, today, keys
        self.entity = PacedDataLoader[str, EntityRow | None](self._entities)
        self.organisation = PacedDataLoader[str, Organisation | None](self._organisations)
        self.records = PacedDataLoader[PageRequest, list[RecordView]](self._records)
        self.record_count = PacedDataLoader[tuple[str, RecordFilter], int](self._counts)
        self.history = PacedDataLoader[tuple[str, str, str], list[RecordView]](self._history)
        self.sources = PacedDataLoader[str, list[SourceSummary]](self._sources)

    async def _entities(self, keys: Sequence[str]) -> list[EntityRow | None]:
        return await entities.get_many(self.session, keys)

    async def _organisations(self, keys: Sequence[str]) -> list[Organisation | None]:
        return await auth.organisations(self.session, keys)

    async def _records(self, keys: Sequence[PageRequest]) -> list[list[RecordView]]:
        return await archive.record_pages(self.session, self.gate, self.keys, self.today, keys)

    async def _counts(self, keys: Sequence[tuple[str, RecordFilter]]) -> list[int]:
        return await archive.record_counts(self.session, self.gate, self.today, keys)

    async def _history(self, keys: Sequence[tuple[str, str, str]]) -> list[list[RecordView]]:
        return await archive.histories(self.session, self.gate, self.keys, keys, self.today)

    async def _sources(self, keys: Sequence[str]) -> list[list[SourceSummary]]:
        return await archive.sources(self.session, self.gate, self.today, keys)
