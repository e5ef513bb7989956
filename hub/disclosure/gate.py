"""The disclosure gate: one per request, made from the caller; every piece of entity data leaves through it.

Services and the schema hand it what they are about to answer; it asks its policy (rules by role
today, authorisation scopes and masking policies later) field by field, returns what may leave —
shown, masked by a named rule, or withheld — and remembers what it withheld or masked and why, so
that the response can say so in `extensions` instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from hub.audit.record import Read
from hub.auth.caller import Caller
from hub.catalog.record_types import RecordTypeDef
from hub.disclosure import masks
from hub.disclosure.policy import (
    ARCHIVE_CURRENT,
    ARCHIVE_PUBLIC,
    ROLE_POLICY,
    Decision,
    DisclosurePolicy,
    Item,
    Ruling,
    Subject,
)

# (item, record type or "", field, decision, rule, reason): one line of the response's report.
_Note = tuple[str, str, str, str, str, str]
# A record's shown fields, withheld fields, and the report lines the withheld ones add.
_FieldRulings = tuple[tuple[str, ...], tuple[str, ...], tuple[_Note, ...]]


def _note_key(item: Item, kind: str, field: str, ruling: Ruling) -> _Note:
    return (item.value, kind, field, ruling.decision.value, ruling.rule or "", ruling.reason)


WITHHELD_MESSAGE = "details withheld by the disclosure policy; the code says what is wrong"


class Disclosure:
    """What this caller may see. Made per request (house rule 4), never shared between requests."""

    def __init__(self, caller: Caller, policy: DisclosurePolicy = ROLE_POLICY) -> None:
        self.caller = caller
        self.policy = policy
        # Each report line → how many values it concerned.
        self._report: Counter[_Note] = Counter()
        self._record_rulings: dict[tuple[Any, ...], _FieldRulings] = {}
        self._archive_scopes: dict[str, str | None] = {}
        # USCC → the field tier an authorisation of that entity grants this caller in this request.
        self._tiers: dict[str, str] = {}
        # The access log: USCC → non-public fields shown unmasked, and why they were read.
        self._disclosed: dict[str, set[str]] = {}
        self._disclosed_fields: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._bases: dict[str, tuple[str | None, str | None, str | None, dt.date | None]] = {}

    # --- authorisations ----------------------------------------------------------------------------

    def grant(self, uscc: str, tier: str) -> None:
        """The caller reads `uscc`'s data under an authorisation that grants field tier `tier`
        ("masked" or "full") for the rest of this request. The consents service calls it once it has
        checked the authorisation; policies see it as `Subject.tier`."""
        self._tiers[uscc] = tier
        # Rulings already made for this entity were made without the grant.
        self._archive_scopes.pop(uscc, None)
        self._record_rulings = {k: v for k, v in self._record_rulings.items() if k[2] != uscc}

    def tier(self, uscc: str | None) -> str | None:
        """The tier granted for `uscc` in this request, if any."""
        return self._tiers.get(uscc) if uscc is not None else None

    # --- the one question, asked of the policy -------------------------------------------------

    def _with_tier(self, subject: Subject) -> Subject:
        """The subject with the tier this request's authorisation grants for it, if any."""
        if self._tiers and subject.tier is None and subject.uscc in self._tiers:
            return replace(subject, tier=self._tiers[subject.uscc])
        return subject

    def ruling(self, item: Item, field: str, subject: Subject, *, kind: str = "") -> Ruling:
        ruling = self.policy.rule(self.caller, item, field, self._with_tier(subject))
        if ruling.decision is not Decision.SHOWN:
            self._note(item, kind, field, ruling)
        return ruling

    def _note(self, item: Item, kind: str, field: str, ruling: Ruling) -> None:
        self._report[_note_key(item, kind, field, ruling)] += 1

    # --- objects and single values -------------------------------------------------------------

    def admits(self, item: Item, subject: Subject, *, kind: str = "") -> bool:
        """May the object as a whole leave (field "*")? When not, the answer leaves it out or null."""
        return self.ruling(item, "*", subject, kind=kind).decision is not Decision.WITHHELD

    def shows(self, item: Item, field: str, subject: Subject) -> bool:
        """Whether `field` leaves as it is (asked before building an answer that depends on it; the
        values themselves still go through `text` and the rest, which report)."""
        return self.policy.rule(self.caller, item, field, self._with_tier(subject)).decision is Decision.SHOWN

    def text(
        self, item: Item, field: str, value: str | None, subject: Subject, *, kind: str = ""
    ) -> str | None:
        """A text field: itself, masked by the ruling's rule, or None (withheld)."""
        if value is None:
            return None
        ruling = self.ruling(item, field, subject, kind=kind)
        if ruling.decision is Decision.SHOWN:
            return value
        if ruling.decision is Decision.MASKED:
            return masks.apply(ruling.rule or "", value)
        return None

    def message(self, message: str, subject: Subject, *, kind: str = "") -> str:
        """The text of a problem: it may echo the input it is about (names, numbers), so it is entity data."""
        return self.text(Item.MESSAGE, "message", message, subject, kind=kind) or WITHHELD_MESSAGE

    # --- archives --------------------------------------------------------------------------------

    def archive_scope(self, uscc: str) -> str | None:
        """Which of the entity's records this caller may list: "full", "current" (every record in
        force), "public" (those under publicity), or None (none)."""
        if uscc in self._archive_scopes:
            return self._archive_scopes[uscc]
        ruling = self.ruling(Item.ARCHIVE, "*", Subject(uscc=uscc))
        scope = self._archive_scopes[uscc] = self._scope_of(ruling)
        return scope

    @staticmethod
    def _scope_of(ruling: Ruling) -> str | None:
        if ruling.decision is Decision.WITHHELD:
            return None
        if ruling.decision is Decision.SHOWN:
            return "full"
        return ARCHIVE_CURRENT if ruling.rule == ARCHIVE_CURRENT else ARCHIVE_PUBLIC

    def record_fields(
        self,
        definition: RecordTypeDef | None,
        record_type: str,
        content: Mapping[str, Any],
        *,
        uscc: str,
        owner: str,
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The fields of one record this caller may see, and the names of those withheld.

        Rulings are kept per request for each combination of record type version, entity, source and
        the sensitivities the content gives its fields (conditional sensitivity), so a page of records
        asks the policy once per distinct combination, not once per field of every record."""
        names = tuple(content)
        sensitivities = tuple(
            definition.field(n).sensitivity_for(content)
            if definition is not None and definition.has_field(n)
            else None
            for n in names
        )
        key = (record_type, id(definition), uscc, owner, names, sensitivities)
        decided = self._record_rulings.get(key)
        if decided is None:
            decided = self._record_rulings[key] = self._rule_record_fields(
                record_type, names, sensitivities, uscc, owner
            )
        shown_names, withheld_names, notes = decided
        for note in notes:
            self._report[note] += 1
        self._disclosed_record(key, record_type, uscc, names, sensitivities, shown_names)
        return {n: content[n] for n in shown_names}, withheld_names

    def _rule_record_fields(
        self,
        record_type: str,
        names: tuple[str, ...],
        sensitivities: tuple[str | None, ...],
        uscc: str,
        owner: str,
    ) -> _FieldRulings:
        shown: list[str] = []
        withheld: list[str] = []
        notes: list[_Note] = []
        for name, sensitivity in zip(names, sensitivities, strict=True):
            subject = Subject(uscc=uscc, owner=owner, sensitivity=sensitivity, tier=self.tier(uscc))
            ruling = self.policy.rule(self.caller, Item.RECORD, name, subject)
            if ruling.decision is Decision.SHOWN:
                shown.append(name)
            else:
                # Masking record fields arrives with masking policies; until then a masked field is withheld.
                withheld.append(name)
                notes.append(_note_key(Item.RECORD, record_type, name, ruling))
        return tuple(shown), tuple(sorted(withheld)), tuple(notes)

    # --- what left unmasked: the request's access-log entries (hub.audit) ----------------------------
    # Kept apart from the rulings above: it only records what they let out.

    def disclosed(self, uscc: str, fields: Iterable[str]) -> None:
        """Non-public fields of `uscc`'s data that left unmasked in this request ("record.<type>.<field>",
        "profile.<field>", …). Every way out that shows such data says so here; the UnitOfWork writes
        one access-log entry per entity from it before the answer leaves."""
        found = self._disclosed.get(uscc)
        if found is None:
            found = self._disclosed[uscc] = set()
        found.update(fields)

    def read_basis(
        self,
        uscc: str,
        *,
        purpose: str | None = None,
        authorisation: str | None = None,
        legal_basis: str | None = None,
        hidden_until: dt.date | None = None,
    ) -> None:
        """Why the caller reads `uscc`'s data in this request (an authorisation's purpose and id, the
        legal basis, and until when the entity is not told): the entry says so."""
        self._bases[uscc] = (purpose, authorisation, legal_basis, hidden_until)

    def reads(self) -> list[Read]:
        """One read per entity whose non-public data left unmasked, for the access log."""
        return [
            Read(
                uscc,
                sorted(fields),
                tier=self._tiers.get(uscc, "role"),
                purpose=basis[0],
                authorisation=basis[1],
                legal_basis=basis[2],
                hidden_until=basis[3],
            )
            for uscc, fields in sorted(self._disclosed.items())
            if fields
            for basis in [self._bases.get(uscc, (None, None, None, None))]
        ]

    def _disclosed_record(
        self,
        key: tuple[Any, ...],
        record_type: str,
        uscc: str,
        names: tuple[str, ...],
        sensitivities: tuple[str | None, ...],
        shown: tuple[str, ...],
    ) -> None:
        # By what was shown too: a grant later in the request changes the rulings of the same key.
        cached = (key, shown)
        fields = self._disclosed_fields.get(cached)
        if fields is None:
            visible = set(shown)
            fields = self._disclosed_fields[cached] = tuple(
                f"record.{record_type}.{name}"
                for name, sensitivity in zip(names, sensitivities, strict=True)
                if name in visible and sensitivity != "public"
            )
        if fields:
            self.disclosed(uscc, fields)

    # --- what the response says ------------------------------------------------------------------

    def report(self) -> list[dict[str, Any]]:
        """What was withheld or masked and why, for the response's `extensions.disclosure`."""
        return [
            {
                "item": item,
                **({"recordType": kind} if kind else {}),
                "field": field,
                "decision": decision,
                **({"rule": rule} if rule else {}),
                "reason": reason,
                "count": count,
            }
            for (item, kind, field, decision, rule, reason), count in sorted(self._report.items())
        ]
