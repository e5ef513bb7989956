"""DataLoaders, made per request: one statement per kind of data, however many objects ask."""

from __future__ import annotations

import asyncio
import datetime as dt
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
from hub.records.archive import service as archive
from hub.records.archive.service import PageRequest, RecordFilter, RecordView, SourceSummary

K = TypeVar("K")
T = TypeVar("T")


class _Turns:
    """One waiter resumed per event-loop iteration (each iteration polls the sockets first)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.taken = False  # a turn was given in this iteration

    async def take(self) -> None:
        if not self.taken:  # the first in an iteration goes on at once
            self.taken = True
            self.loop.call_soon(self._next)
            return
        turn = self.loop.create_future()
        self.waiting.append(turn)
        await turn

    def _next(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():  # not cancelled
                turn.set_result(None)
                self.loop.call_soon(self._next)
                return
        self.taken = False


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


class PacedDataLoader(DataLoader[K, T]):
    """A DataLoader whose waiters go on one per event-loop iteration.

    A batch resolves every waiter at once: a list of 100 entities asking for their records would
    otherwise build all 100 pages (and GraphQL complete them) in one iteration of the loop, which
    polls no socket meanwhile, so every other request (/healthz included) would wait for all of it.
    One at a time, other requests are served between two of them. A lone waiter goes on at once."""

    async def load(self, key: K) -> T:
        value = await super().load(key)
        loop = asyncio.get_running_loop()
        turns = _turns.get(loop)
        if turns is None:
            turns = _turns[loop] = _Turns(loop)
        await turns.take()
        return value


class Loaders:
    def __init__(self, session: AsyncSession, gate: Disclosure, today: dt.date) -> None:
        self.session, self.gate, self.today = session, gate, today
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
        return await archive.record_pages(self.session, self.gate, self.today, keys)

    async def _counts(self, keys: Sequence[tuple[str, RecordFilter]]) -> list[int]:
        return await archive.record_counts(self.session, self.gate, self.today, keys)

    async def _history(self, keys: Sequence[tuple[str, str, str]]) -> list[list[RecordView]]:
        return await archive.histories(self.session, self.gate, keys)

    async def _sources(self, keys: Sequence[str]) -> list[list[SourceSummary]]:
        return await archive.sources(self.session, self.gate, self.today, keys)
