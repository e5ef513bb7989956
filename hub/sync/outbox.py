"""The outbox writer: the only code that adds change events, in the transaction of the change.

Callers hand over typed events (hub.sync.events) in the order the changes were made; each becomes
one outbox row with its type, payload version, ordering key (the USCC, when it concerns one entity)
and the writing transaction's id (a column default), which the relay's horizon cursor reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hub.sync import repository as repo
from hub.sync.events import Event, InvalidEvent


async def emit(session: AsyncSession, events: Sequence[Event]) -> None:
    rows = []
    for event in events:
        if not isinstance(event, Event) or type(event) is Event:
            raise InvalidEvent(f"not a change event: {event!r}")
        # Checked again here: a frozen dataclass can still be altered through object.__setattr__.
        event.check()
        rows.append(
            {
                "event_type": event.type.value,
                "payload_version": event.payload_version,
                "uscc": event.ordering_key,
                "payload": event.payload(),
            }
        )
    await repo.insert_events(session, rows)
