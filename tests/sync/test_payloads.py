"""Event payloads: each type's version 1 as stored, checked when made and when read back; the writer is
the only code that adds to the outbox; EVENTS.md describes every type."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hub.sync import events as ev
from hub.sync.outbox import emit

ROOT = Path(__file__).resolve().parents[2]
USCC = "91230102MA00000001"  # shape only: events check the form of a code, not its check digit
DEPT = "11230100000000027J"
RUN = "6f1c2a9e-0b7d-4c1e-9a55-3f0e8d2b7c41"
BANK = "91230100B00000019C"

# One valid event of each type and the payload it is stored with, by hand.
STORED: list[tuple[ev.Event, str, str | None, dict[str, Any]]] = [
    (
        ev.RecordCreated(
            uscc=USCC,
            source_dept=DEPT,
            source_record_id="罚-1",
            record_type="administrative_penalty",
            version=1,
        ),
        "record.created",
        USCC,
        {
            "source_dept": DEPT,
            "source_record_id": "罚-1",
            "record_type": "administrative_penalty",
            "version": 1,
        },
    ),
    (
        ev.RecordUpdated(
            uscc=USCC,
            source_dept=DEPT,
            source_record_id="罚-1",
            record_type="administrative_penalty",
            version=3,
        ),
        "record.updated",
        USCC,
        {
            "source_dept": DEPT,
            "source_record_id": "罚-1",
            "record_type": "administrative_penalty",
            "version": 3,
        },
    ),
    (
        ev.EvaluationStored(
            uscc=USCC, source_dept=DEPT, source_record_id="E-1", record_type="industry_evaluation", version=2
        ),
        "evaluation.stored",
        USCC,
        {"source_dept": DEPT, "source_record_id": "E-1", "record_type": "industry_evaluation", "version": 2},
    ),
    (
        ev.EvaluationWithdrawn(
            uscc=USCC,
            source_dept=DEPT,
            source_record_id="catering_services:2026:" + USCC,
            record_type="industry_evaluation",
            receipt_id=RUN,
        ),
        "evaluation.withdrawn",
        USCC,
        {
            "source_dept": DEPT,
            "source_record_id": "catering_services:2026:" + USCC,
            "record_type": "industry_evaluation",
            "receipt_id": RUN,
        },
    ),
    (
        ev.RecordsLoaded(
            receipt_id=RUN, source_dept=DEPT, record_type="administrative_penalty", created=999_999, updated=1
        ),
        "records.loaded",
        None,
        {
            "receipt_id": RUN,
            "source_dept": DEPT,
            "record_type": "administrative_penalty",
            "created": 999_999,
            "updated": 1,
        },
    ),
    (
        ev.EvaluationsLoaded(
            receipt_id=RUN, source_dept=DEPT, record_type="industry_evaluation", created=0, updated=2
        ),
        "evaluations.loaded",
        None,
        {
            "receipt_id": RUN,
            "source_dept": DEPT,
            "record_type": "industry_evaluation",
            "created": 0,
            "updated": 2,
        },
    ),
    (
        ev.EvaluationsGraded(
            receipt_id=RUN,
            source_dept=DEPT,
            record_type="industry_evaluation",
            created=5,
            updated=0,
            withdrawn=2,
        ),
        "evaluations.graded",
        None,
        {
            "receipt_id": RUN,
            "source_dept": DEPT,
            "record_type": "industry_evaluation",
            "created": 5,
            "updated": 0,
            "withdrawn": 2,
        },
    ),
    (
        ev.ClassificationChanged(domain="catering_services", first_change_id=7, last_change_id=9),
        "classification.changed",
        None,
        {"domain": "catering_services", "first_change_id": 7, "last_change_id": 9},
    ),
    (
        ev.ClassificationChanged(domain="catering_services", first_change_id=7, last_change_id=7, uscc=USCC),
        "classification.changed",
        USCC,
        {"domain": "catering_services", "first_change_id": 7, "last_change_id": 7},
    ),
    (ev.EntityRenamed(uscc=USCC, change_id=3), "entity.renamed", USCC, {"change_id": 3}),
    *(
        (
            cls(uscc=USCC, authorisation_id=RUN, grantee=BANK, purpose="loan_assessment"),
            kind,
            USCC,
            {"authorisation_id": RUN, "grantee": BANK, "purpose": "loan_assessment"},
        )
        for cls, kind in (
            (ev.AuthorisationRequested, "authorisation.requested"),
            (ev.AuthorisationApproved, "authorisation.approved"),
            (ev.AuthorisationRejected, "authorisation.rejected"),
            (ev.AuthorisationPaused, "authorisation.paused"),
            (ev.AuthorisationResumed, "authorisation.resumed"),
            (ev.AuthorisationRevoked, "authorisation.revoked"),
            (ev.AuthorisationExpired, "authorisation.expired"),
        )
    ),
    (
        ev.RecordStateChanged(
            uscc=USCC,
            source_dept=DEPT,
            source_record_id="罚-1",
            record_type="administrative_penalty",
            previous_state="published",
            state="disputed",
            cause="objection:12",
        ),
        "record.state_changed",
        USCC,
        {
            "source_dept": DEPT,
            "source_record_id": "罚-1",
            "record_type": "administrative_penalty",
            "previous_state": "published",
            "state": "disputed",
            "cause": "objection:12",
        },
    ),
    (
        ev.RecordRepaired(
            uscc=USCC,
            source_dept=DEPT,
            source_record_id="罚-1",
            record_type="administrative_penalty",
            repair_id=4,
            report_by="2026-12-03",
        ),
        "record.repaired",
        USCC,
        {
            "source_dept": DEPT,
            "source_record_id": "罚-1",
            "record_type": "administrative_penalty",
            "repair_id": 4,
            "report_by": "2026-12-03",
        },
    ),
    (
        ev.EntityShielded(uscc=USCC, shield_id=2, until="2027-06-30"),
        "entity.shielded",
        USCC,
        {"shield_id": 2, "until": "2027-06-30"},
    ),
    (ev.EntityShieldLifted(uscc=USCC, shield_id=2), "entity.shield_lifted", USCC, {"shield_id": 2}),
]


def test_the_table_covers_every_type() -> None:
    assert {kind for _, kind, _, _ in STORED} == {t.value for t in ev.EventType}
    assert {(t.value, 1) for t in ev.EventType} == {(k.value, v) for k, v in ev.EVENT_CLASSES}


@pytest.mark.parametrize(("event", "kind", "key", "payload"), STORED, ids=lambda v: getattr(v, "value", None))
def test_each_type_is_stored_as_written_here_and_reads_back(event, kind, key, payload) -> None:
    assert (event.type.value, event.payload_version, event.ordering_key, event.payload()) == (
        kind,
        1,
        key,
        payload,
    )
    assert ev.decode(kind, 1, key, payload) == event


def _made(event: ev.Event, **change: Any) -> ev.Event:
    return dataclasses.replace(event, **change)


RECORD, WITHDRAWN, LOADED, GRADED, CHANGED = (STORED[i][0] for i in (0, 3, 4, 6, 7))
GRANTED = next(e for e, kind, _, _ in STORED if kind == "authorisation.approved")
# (event, change, what the error names): each breaks the contract of its type.
BROKEN = [
    (RECORD, {"uscc": "91230102MA0000000"}, "uscc"),  # 17 characters
    (RECORD, {"uscc": "91230102ma00000001"}, "uscc"),  # lower case
    (RECORD, {"source_dept": None}, "source_dept"),
    (RECORD, {"source_record_id": ""}, "source_record_id"),
    (RECORD, {"source_record_id": "x" * 101}, "source_record_id"),
    (RECORD, {"record_type": "Administrative Penalty"}, "record_type"),
    (RECORD, {"version": 2}, "version 1"),
    (STORED[1][0], {"version": 1}, "version 2"),
    (STORED[2][0], {"version": 0}, "version"),
    (STORED[2][0], {"version": True}, "version"),  # a bool is no number here
    (WITHDRAWN, {"receipt_id": RUN.upper()}, "receipt_id"),  # not canonical
    (WITHDRAWN, {"receipt_id": "run-1"}, "receipt_id"),
    (LOADED, {"created": 0, "updated": 0}, "no change"),
    (LOADED, {"created": -1}, "created"),
    (LOADED, {"updated": 1.5}, "updated"),
    (GRADED, {"withdrawn": -1}, "withdrawn"),
    (CHANGED, {"first_change_id": 0}, "first_change_id"),
    (CHANGED, {"last_change_id": 6}, "last_change_id"),
    (CHANGED, {"domain": ""}, "domain"),
    (CHANGED, {"uscc": "P123"}, "uscc"),
    (GRANTED, {"authorisation_id": "grant-1"}, "authorisation_id"),
    (GRANTED, {"grantee": "bank"}, "grantee"),
    (GRANTED, {"purpose": "Loan Assessment"}, "purpose"),
    (GRANTED, {"uscc": None}, "uscc"),
]


@pytest.mark.parametrize(("event", "change", "named"), BROKEN)
def test_a_broken_payload_is_refused_when_made(event, change, named) -> None:
    with pytest.raises(ev.InvalidEvent, match=named):
        _made(event, **change)


@pytest.mark.parametrize(
    ("kind", "version", "key", "payload", "named"),
    [
        ("records.bulk", 1, None, STORED[4][3], "no event 'records.bulk'"),  # the old topic
        ("records.loaded", 2, None, STORED[4][3], "version 2"),
        ("records.loaded", 1, None, {**STORED[4][3], "rows": 3}, "carries"),
        ("records.loaded", 1, None, {k: v for k, v in STORED[4][3].items() if k != "created"}, "carries"),
        ("records.loaded", 1, USCC, STORED[4][3], "no single entity"),
        ("record.created", 1, None, STORED[0][3], "uscc"),  # a record's event without its entity
        ("record.created", 1, USCC, {**STORED[0][3], "version": "1"}, "version"),
    ],
)
def test_a_row_that_is_not_exactly_a_known_version_is_refused_when_read(
    kind, version, key, payload, named
) -> None:
    with pytest.raises(ev.InvalidEvent, match=named):
        ev.decode(kind, version, key, payload)


async def test_the_writer_takes_events_only_and_writes_nothing_when_one_is_broken(session) -> None:
    broken = _made(RECORD)
    object.__setattr__(broken, "version", 5)  # altered after it was made
    for batch in ([RECORD, broken], [RECORD, {"topic": "record.created"}]):
        with pytest.raises(ev.InvalidEvent):
            await emit(session, batch)
    assert (await session.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 0


# Anything that names the outbox table or its model, outside the writer and the model.
OUTBOX_WRITE = re.compile(r"\bOutboxEvent\b|\b(?:INTO|UPDATE)\s+outbox\b", re.IGNORECASE)


def test_no_other_code_writes_the_outbox() -> None:
    allowed = {
        ROOT / "hub" / "sync" / "repository.py",
        ROOT / "hub" / "models" / "sync.py",
        ROOT / "hub" / "models" / "__init__.py",
    }
    writers = [
        str(path.relative_to(ROOT))
        for tree in ("hub", "schema", "adapters")
        for path in sorted((ROOT / tree).rglob("*.py"))
        if path not in allowed and OUTBOX_WRITE.search(path.read_text(encoding="utf-8"))
    ]
    assert writers == []


def test_events_md_describes_every_type() -> None:
    described = re.findall(
        r"^### `([a-z._]+)` v(\d+)$", (ROOT / "hub" / "sync" / "EVENTS.md").read_text(), re.MULTILINE
    )
    assert sorted((k, int(v)) for k, v in described) == sorted((k.value, v) for k, v in ev.EVENT_CLASSES)
