"""DataLoaders, made per request: one statement per kind of data, however many objects ask."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from hub.auth import service as auth
from hub.disclosure.gate import Disclosure
from hub.entities import service as entities
from hub.entities.service import EntityRow
from hub.models import Organisation
from hub.records.archive import service as archive
from hub.records.archive.service import PageRequest, RecordFilter, RecordView, SourceSummary


class Loaders:
    def __init__(self, session: AsyncSession, gate: Disclosure, today: dt.date) -> None:
        self.session, self.gate, self.today = session, gate, today
        self.entity = DataLoader[str, EntityRow | None](self._entities)
        self.organisation = DataLoader[str, Organisation | None](self._organisations)
        self.records = DataLoader[PageRequest, list[RecordView]](self._records)
        self.record_count = DataLoader[tuple[str, RecordFilter], int](self._counts)
        self.history = DataLoader[tuple[str, str, str], list[RecordView]](self._history)
        self.sources = DataLoader[str, list[SourceSummary]](self._sources)

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
