"""Reading an entity's archive. Every record leaves through `disclosure`, which decides what shows."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.catalog.policy import record_type_versions
from hub.crypto import blind_index
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.entities.codes import normalise
from hub.entities.service import get_many as get_entities
from hub.errors import Invalid
from hub.ports import KeyProvider
from hub.records.archive import repository as reads
from hub.records.ingestion import repository as repo
from hub.records.sealing.fields import BLIND_INDEX_PURPOSE, opened_content
from hub.records.validation.field_check import control_problem

NATURAL_PERSON = "natural_person"  # the registry kind of a natural person's archive (hub.records.bulk)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    record_types: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    decided_from: dt.date | None = None
    decided_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    uscc: str
    filter: RecordFilter
    after: tuple[dt.date, str, str] | None
    limit: int


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record version as this caller may see it."""

    uscc: str
    record_type: str
    type_version: int
    source_dept: str
    source_record_id: str
    version: int
    current: bool
    decision_date: dt.date
    severity: str | None
    publicity_rule: str | None
    published: bool
    repair_from: dt.date | None
    publish_until: dt.date | None
    late: bool | None
    pushed_by: str
    pushed_at: dt.datetime
    changed_fields: tuple[str, ...] | None
    fields: dict[str, Any]
    withheld: tuple[str, ...]
    # The record's state (hub.records.states.State) and whether an objection is open (异议中).
    state: str = "published"
    disputed: bool = False

    @property
    def cursor_key(self) -> tuple[dt.date, str, str]:
        return (self.decision_date, self.source_dept, self.source_record_id)


def _public_on(gate: Disclosure, uscc: str, today: dt.date) -> dt.date | None:
    """The SQL filter of the caller's archive scope: records under publicity on `today`, or all."""
    return today if gate.archive_scope(uscc) == "public" else None


async def _view_factory(
    session: AsyncSession, gate: Disclosure, keys: KeyProvider, rows: Sequence[Any]
) -> Any:
    """Disclosure follows the catalogue version each record was validated against. Sealed personal
    fields are opened here, before the gate, which decides what of them leaves."""
    if rows:  # the masking policy in force decides what of them third parties see
        await gate.prepare(session)
    definitions = await record_type_versions(session, {(r.record_type, r.type_version) for r in rows})

    def view(record: Any, state: tuple[str, bool] | None = None) -> RecordView:
        # an ORM Record or a row with the same columns (which carries its state)
        definition = definitions.get((record.record_type, record.type_version))
        sealed = tuple(record.sealed or ())
        # A caller from whom every sealed field is withheld (the public, a bank without a grant) gets
        # the record without them being opened: no decryption for what never leaves.
        unopened = {**record.content, **dict.fromkeys(sealed)}
        if sealed and not gate.withholds_all(
            definition, record.record_type, unopened, sealed, uscc=record.uscc, owner=record.source_dept
        ):
            content = opened_content(keys, record)
        else:
            content = unopened if sealed else dict(record.content)
        shown, withheld = gate.record_fields(
            definition, record.record_type, content, uscc=record.uscc, owner=record.source_dept
        )
        return RecordView(
            uscc=record.uscc,
            record_type=record.record_type,
            type_version=record.type_version,
            source_dept=record.source_dept,
            source_record_id=record.source_record_id,
            version=record.version,
            current=record.current,
            decision_date=record.decision_date,
            severity=record.severity,
            publicity_rule=record.publicity_rule,
            published=record.published,
            repair_from=record.repair_from,
            publish_until=record.publish_until,
            late=record.late,
            pushed_by=record.pushed_by,
            pushed_at=record.pushed_at,
            changed_fields=tuple(record.changed_fields) if record.changed_fields is not None else None,
            fields=shown,
            withheld=withheld,
            state=state[0] if state else getattr(record, "state", "published"),
            disputed=state[1] if state else bool(getattr(record, "disputed", False)),
        )

    return view


# Views made between two turns of the event loop (~70 µs each): thousands of records for one
# request would otherwise hold every other request for a fraction of a second.
VIEW_SLICE = 100


async def record_pages(
    session: AsyncSession,
    gate: Disclosure,
    keys: KeyProvider,
    today: dt.date,
    requests: Sequence[PageRequest],
) -> list[list[RecordView]]:
    """Answer many page requests with one statement per distinct (filter, cursor, size, visibility)."""
    groups: dict[tuple[RecordFilter, Any, int, dt.date | None, frozenset[str]], list[str]] = defaultdict(list)
    for request in requests:
        if gate.archive_scope(request.uscc) is None:
            continue
        public_on = _public_on(gate, request.uscc, today)
        withheld = gate.withheld_states(request.uscc)
        groups[(request.filter, request.after, request.limit, public_on, withheld)].append(request.uscc)
    pages: list[tuple[RecordFilter, Any, int, list[Any]]] = []
    for (flt, after, limit, public_on, withheld), usccs in groups.items():
        rows = await reads.page_of_records(
            session,
            usccs,
            record_types=flt.record_types,
            sources=flt.sources,
            decided_from=flt.decided_from,
            decided_to=flt.decided_to,
            public_on=public_on,
            after=after,
            limit=limit,
            today=today,
            withheld=withheld,
        )
        pages.append((flt, after, limit, rows))
    view = await _view_factory(session, gate, keys, [row for *_, rows in pages for row in rows])
    found: dict[tuple[str, RecordFilter, Any, int], list[RecordView]] = {}
    made = 0
    for flt, after, limit, rows in pages:
        for row in rows:
            found.setdefault((row.uscc, flt, after, limit), []).append(view(row))
            made += 1
            if made % VIEW_SLICE == 0:  # a slice at a time: other requests are served in between
                await asyncio.sleep(0)
    return [found.get((r.uscc, r.filter, r.after, r.limit), []) for r in requests]


async def record_counts(
    session: AsyncSession, gate: Disclosure, today: dt.date, keys: Sequence[tuple[str, RecordFilter]]
) -> list[int]:
    groups: dict[tuple[RecordFilter, dt.date | None, frozenset[str]], list[str]] = defaultdict(list)
    for uscc, flt in keys:
        if gate.archive_scope(uscc) is not None:
            groups[(flt, _public_on(gate, uscc, today), gate.withheld_states(uscc))].append(uscc)
    counts: dict[tuple[str, RecordFilter], int] = {}
    for (flt, public_on, withheld), usccs in groups.items():
        found = await reads.count_records(
            session,
            usccs,
            record_types=flt.record_types,
            sources=flt.sources,
            decided_from=flt.decided_from,
            decided_to=flt.decided_to,
            public_on=public_on,
            today=today,
            withheld=withheld,
        )
        for uscc in usccs:
            counts[(uscc, flt)] = found.get(uscc, 0)
    return [counts.get(key, 0) for key in keys]


async def histories(
    session: AsyncSession,
    gate: Disclosure,
    keys: KeyProvider,
    records: Sequence[tuple[str, str, str]],
    today: dt.date,
) -> list[list[RecordView]]:
    """Every version of each record, newest first (who pushed it, when, which fields changed); none of
    a record in a state withheld from the caller."""
    allowed = [k for k in records if gate.archive_scope(k[0]) is not None]
    states = await reads.states_of(session, allowed, today)
    shown = [k for k in allowed if states.get(k, ("published", False))[0] not in gate.withheld_states(k[0])]
    rows = await repo.history_for(session, shown)
    view = await _view_factory(session, gate, keys, rows)
    grouped: dict[tuple[str, str, str], list[RecordView]] = defaultdict(list)
    for row in rows:
        key = (row.uscc, row.source_dept, row.source_record_id)
        grouped[key].append(view(row, states.get(key, ("published", False))))
    return [grouped.get(key, []) for key in records]


@dataclass(frozen=True, slots=True)
class SourceSummary:
    source_dept: str
    records: int
    latest_decision: dt.date


async def sources(
    session: AsyncSession, gate: Disclosure, today: dt.date, usccs: Sequence[str]
) -> list[list[SourceSummary]]:
    """Who contributed to each archive, counting only the records this caller may see."""
    grouped: dict[str, list[SourceSummary]] = defaultdict(list)
    by_visibility: dict[tuple[dt.date | None, frozenset[str]], list[str]] = defaultdict(list)
    for uscc in usccs:
        if gate.archive_scope(uscc) is not None:
            by_visibility[(_public_on(gate, uscc, today), gate.withheld_states(uscc))].append(uscc)
    for (public_on, withheld), group in by_visibility.items():
        for uscc, dept, count, latest in await reads.sources_for(session, group, public_on, today, withheld):
            grouped[uscc].append(SourceSummary(dept, count, latest))
    return [grouped.get(u, []) for u in usccs]


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """An entity as the public sees it (公示): its registry entry and its records under publicity."""

    uscc: str
    name: str | None
    kind: str
    district: str
    records: list[RecordView]
    total: int


async def public_profile(
    session: AsyncSession, gate: Disclosure, keys: KeyProvider, uscc: str, today: dt.date, limit: int
) -> PublicProfile | None:
    """The public profile through the public's gate (`gate.public_view()`): public fields only; records
    under publicity, neither repaired, revoked, shielded nor expired; disputed ones marked. None for an
    unknown code and for a natural person, whose information is never published."""
    [entity] = await get_entities(session, [uscc])
    if entity is None or entity.kind == NATURAL_PERSON or not gate.admits(Item.ENTITY, Subject(uscc=uscc)):
        return None
    request = PageRequest(uscc, RecordFilter(), None, limit)
    [records] = await record_pages(session, gate, keys, today, [request])
    [total] = await record_counts(session, gate, today, [(uscc, RecordFilter())])
    return PublicProfile(
        uscc=entity.uscc,
        name=gate.text(Item.ENTITY, "name", entity.name, Subject(uscc=uscc)),
        kind=entity.kind,
        district=entity.district,
        records=records,
        total=total,
    )


# Longest ID number the catalogue stores (its id_number fields' max_length).
ID_NUMBER_LENGTH = 30
# Candidates a look-up opens at most: the blind index maps ~R/2^L rows to each value (152 at the
# planned 10^7 rows and 16 bits), so this is ~60 times what one value should hold.
ID_CANDIDATES = 10_000


async def records_by_id_number(
    session: AsyncSession,
    gate: Disclosure,
    keys: KeyProvider,
    id_number: str,
    *,
    index_bits: int,
    limit: int,
    today: dt.date,
) -> list[RecordView]:
    """Current records that name `id_number` in a personal ID-number field (a natural person's own, a
    legal representative's, an individual business's operator's), newest first, at most `limit`.

    The keyed blind index narrows the search to the rows sharing the number's truncated index (many,
    by design: it does not identify a row); each candidate is opened and its ID numbers compared."""
    number = normalise(id_number)
    if not number:
        raise Invalid("idNumber is empty", code="REQUIRED", path="idNumber")
    if len(number) > ID_NUMBER_LENGTH:
        raise Invalid(
            f"an ID number has at most {ID_NUMBER_LENGTH} characters", code="TOO_LONG", path="idNumber"
        )
    problem = control_problem("idNumber", "idNumber", number)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code, path="idNumber")
    index = blind_index(keys, BLIND_INDEX_PURPOSE, number, index_bits)
    rows = await reads.by_id_index(session, index, ID_CANDIDATES, today)
    definitions = await record_type_versions(session, {(r.record_type, r.type_version) for r in rows})
    matching = []
    for row in rows:
        definition = definitions.get((row.record_type, row.type_version))
        if definition is None or gate.archive_scope(row.uscc) is None:
            continue
        content = opened_content(keys, row)
        if any(
            content.get(name) == number
            and definition.has_field(name)
            and definition.field(name).type == "id_number"
            for name in row.sealed or ()
        ):
            matching.append(row)
            if len(matching) == limit:
                break
    view = await _view_factory(session, gate, keys, matching)
    return [view(row) for row in matching]
