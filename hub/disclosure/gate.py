"""The disclosure gate: one per request, made from the caller; every piece of entity data leaves through it.

Services and the schema hand it what they are about to answer; it asks its policy (the rules by
role, refined by the masking policy in force and the tier an authorisation grants) field by field,
returns what may leave —
shown, masked by a named rule, or withheld — and remembers what it withheld or masked and why, so
that the response can say so in `extensions` instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.record import Read
from hub.auth.caller import Caller, Role
from hub.catalog.masking_policies import MaskingPolicy, MaskRule
from hub.catalog.policy import masking_policy
from hub.catalog.record_types import RecordTypeDef
from hub.disclosure import masks
from hub.disclosure.policy import (
    ARCHIVE_CURRENT,
    ARCHIVE_PUBLIC,
    FULL_VIEW_ROLES,
    ROLE_POLICY,
    Decision,
    DisclosurePolicy,
    Item,
    MaskedRolePolicy,
    Ruling,
    Subject,
)
from hub.disclosure.record_states import withheld_states
from hub.ports import KeyProvider

# (item, record type or "", field, decision, rule, reason): one line of the response's report.
_Note = tuple[str, str, str, str, str, str]
# A record's fields as ruled: shown, masked (with the rule), scanned for ID and mobile numbers (shown
# free text), withheld, and the report lines the masked and withheld ones add.
_FieldRulings = tuple[
    tuple[str, ...],
    tuple[tuple[str, str], ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[_Note, ...],
]
SCAN_REASONS = {
    "id_number": "resident ID number in free text (自由文本中的身份证号)",
    "mobile": "mobile number in free text (自由文本中的手机号)",
}


def _note_key(item: Item, kind: str, field: str, ruling: Ruling) -> _Note:
    return (item.value, kind, field, ruling.decision.value, ruling.rule or "", ruling.reason)


class _SharedRulings:
    """Record-field rulings kept across requests, per masking policy (a parsed version never changes;
    the entry holds the policy and the definition themselves, so an id is never mistaken for another's)."""

    _MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._by_policy: dict[int, tuple[MaskingPolicy, dict[Any, tuple[Any, _FieldRulings]]]] = {}

    def get(self, masking: MaskingPolicy, key: Any, definition: RecordTypeDef | None) -> _FieldRulings | None:
        entry = self._by_policy.get(id(masking))
        if entry is None or entry[0] is not masking:
            return None
        found = entry[1].get(key)
        return found[1] if found is not None and found[0] is definition else None

    def put(
        self, masking: MaskingPolicy, key: Any, definition: RecordTypeDef | None, rulings: _FieldRulings
    ) -> None:
        entry = self._by_policy.get(id(masking))
        if entry is None or entry[0] is not masking:
            if len(self._by_policy) >= 8:
                self._by_policy.clear()
            entry = self._by_policy[id(masking)] = (masking, {})
        if len(entry[1]) >= self._MAX_ENTRIES:
            entry[1].clear()
        entry[1][key] = (definition, rulings)


_SHARED = _SharedRulings()


WITHHELD_MESSAGE = "details withheld by the disclosure policy; the code says what is wrong"


class Disclosure:
    """What this caller may see. Made per request (house rule 4), never shared between requests."""

    def __init__(
        self, caller: Caller, policy: DisclosurePolicy = ROLE_POLICY, *, keys: KeyProvider | None = None
    ) -> None:
        self.caller = caller
        self.policy = policy
        # Keyed hashes (假名) are made with a key of the hub's KeyProvider; without one they mask all.
        self.keys = keys
        # The masking policy in force and its version, once `prepare` has read them.
        self.masking: MaskingPolicy | None = None
        self.masking_version: int | None = None
        self._rules: dict[str, MaskRule] = {}
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

    # --- the masking policy in force ---------------------------------------------------------------

    async def prepare(self, session: AsyncSession) -> None:
        """Read the masking policy in force (one indexed statement; parsed once per version) before
        ruling on third parties' reads. Every path that hands entity data to a third party calls it;
        until it has, the role rules alone decide (which withhold what they would mask). A policy
        that knows no masking (a test's WithholdAll) stays as it is."""
        if self.masking is not None or getattr(self.policy, "with_masking", None) is None:
            return
        if self.caller.role in FULL_VIEW_ROLES:  # never a third party: the masking policy has no say
            return
        self.use_masking(*await masking_policy(session))

    def use_masking(self, masking: MaskingPolicy, version: int) -> None:
        """Apply this masking policy (version `version`) from now on (`prepare` reads the one in force)."""
        refine = getattr(self.policy, "with_masking", None)
        if refine is None:
            return
        self.masking, self.masking_version = masking, version
        self.policy = refine(masking)
        self._rules = dict(masking.rules)
        self._record_rulings.clear()

    def _scans(self, subject: Subject) -> bool:
        policy = self.policy
        return isinstance(policy, MaskedRolePolicy) and policy.scans(self.caller, subject)

    def mask(self, rule: str | None, value: str) -> str:
        """`value` masked by the rule of that name (the policy's, else a built-in); unknown: all masked."""
        return masks.apply(rule or "", value, self._rules, self.keys)

    def _scan(self, item: Item, kind: str, field: str, value: str) -> str:
        """Free text with the ID and mobile numbers in it masked, each kind found reported."""
        assert self.masking is not None
        free = self.masking.free_text
        id_rule, mobile_rule = self._rules.get(free.id_number_rule), self._rules.get(free.mobile_rule)
        out, ids, mobiles = masks.scan_counts(value, id_rule, mobile_rule, self.keys)
        for found, rule, count in (
            ("id_number", free.id_number_rule, ids),
            ("mobile", free.mobile_rule, mobiles),
        ):
            if count:
                self._report[(item.value, kind, field, Decision.MASKED.value, rule, SCAN_REASONS[found])] += (
                    count
                )
        return out

    def public_view(self) -> Disclosure:
        """A gate with the public's rules (公示: no token) for a part of this request that must answer
        as to the public whoever asks (publicProfile); what it withholds goes into this gate's report."""
        gate = Disclosure(Caller(role=Role.PUBLIC), self.policy, keys=self.keys)
        # The masking policy this gate read (if it did) holds for the public view too.
        gate.masking, gate.masking_version, gate._rules = self.masking, self.masking_version, self._rules
        gate._report = self._report
        return gate

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
            return self._scan(item, kind, field, value) if self._scans(subject) else value
        if ruling.decision is Decision.MASKED:
            return self.mask(ruling.rule, value)
        return None

    def message(self, message: str, subject: Subject, *, kind: str = "") -> str:
        """The text of a problem: it may echo the input it is about (names, numbers), so it is entity data
        (free text: scanned for ID and mobile numbers when it goes to a third party)."""
        subject = replace(
            subject, field_type=subject.field_type or "text", sensitivity=subject.sensitivity or "public"
        )
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

    def withheld_states(self, uscc: str) -> frozenset[str]:
        """The record states (hub.disclosure.record_states) in which `uscc`'s records do not leave."""
        return withheld_states(self.caller, uscc)

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
        """The fields of one record this caller may see (shown, or masked by their rule; free text
        with its ID and mobile numbers masked), and the names of those withheld.

        Rulings are kept per request for each combination of record type version, entity, source and
        the sensitivities the content gives its fields (conditional sensitivity), so a page of records
        asks the policy once per distinct combination, not once per field of every record."""
        key, names, sensitivities, decided = self._record_rulings_of(
            definition, record_type, content, uscc, owner
        )
        shown_names, masked, scanned, withheld_names, notes = decided
        for note in notes:
            self._report[note] += 1
        # Free text leaves too (its ID and mobile numbers masked): it is disclosed as much as a shown field.
        self._disclosed_record(key, record_type, uscc, names, sensitivities, shown_names + scanned)
        fields = {n: content[n] for n in shown_names}
        for name, rule in masked:
            value = content[name]
            fields[name] = (
                None if value is None else self.mask(rule, value if isinstance(value, str) else str(value))
            )
        for name in scanned:
            value = content[name]
            # Most free text holds no run of 11 digits: it leaves as it is, without the scan.
            if isinstance(value, str) and masks.may_hold_numbers(value):
                value = self._scan(Item.RECORD, record_type, name, value)
            fields[name] = value
        return fields, withheld_names

    def withholds_all(
        self,
        definition: RecordTypeDef | None,
        record_type: str,
        content: Mapping[str, Any],
        fields: Iterable[str],
        *,
        uscc: str,
        owner: str,
    ) -> bool:
        """Whether `fields` of this record would all be withheld from this caller (nothing reported):
        the archive then need not open its sealed personal fields at all. `content` has the record's
        field names in order (sealed values may be None: their sensitivity is their class's)."""
        withheld = set(self._record_rulings_of(definition, record_type, content, uscc, owner)[3][3])
        return all(f in withheld for f in fields)

    def _record_rulings_of(
        self,
        definition: RecordTypeDef | None,
        record_type: str,
        content: Mapping[str, Any],
        uscc: str,
        owner: str,
    ) -> tuple[tuple[Any, ...], tuple[str, ...], tuple[str | None, ...], Any]:
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
                definition, record_type, names, sensitivities, uscc, owner
            )
        return key, names, sensitivities, decided

    def _rule_record_fields(
        self,
        definition: RecordTypeDef | None,
        record_type: str,
        names: tuple[str, ...],
        sensitivities: tuple[str | None, ...],
        uscc: str,
        owner: str,
    ) -> _FieldRulings:
        """Rulings under a masking policy depend only on the policy, the caller's role and relation to
        the record, the tier, the record type version and the fields' sensitivities: they are shared
        by the requests of this process (per policy version, bounded), not made again on every page."""
        tier = self.tier(uscc)
        policy, caller = self.policy, self.caller
        shared_key = None
        if isinstance(policy, MaskedRolePolicy):
            shared_key = (
                caller.role,
                caller.role is Role.ENTITY and caller.organisation_code == uscc,
                caller.role is Role.DEPARTMENT and caller.organisation_code == owner,
                tier,
                record_type,
                names,
                sensitivities,
            )
            found = _SHARED.get(policy.masking, shared_key, definition)
            if found is not None:
                return found
        shown: list[str] = []
        masked: list[tuple[str, str]] = []
        scanned: list[str] = []
        withheld: list[str] = []
        notes: list[_Note] = []
        for name, sensitivity in zip(names, sensitivities, strict=True):
            field_type = (
                definition.field(name).type if definition is not None and definition.has_field(name) else None
            )
            subject = Subject(
                uscc=uscc,
                owner=owner,
                sensitivity=sensitivity,
                tier=tier,
                record_type=record_type,
                field_type=field_type,
            )
            ruling = self.policy.rule(self.caller, Item.RECORD, name, subject)
            if ruling.decision is Decision.SHOWN:
                (scanned if self._scans(subject) else shown).append(name)
                continue
            if ruling.decision is Decision.MASKED:
                masked.append((name, ruling.rule or ""))
            else:
                withheld.append(name)
            notes.append(_note_key(Item.RECORD, record_type, name, ruling))
        rulings = tuple(shown), tuple(masked), tuple(scanned), tuple(sorted(withheld)), tuple(notes)
        if shared_key is not None and isinstance(policy, MaskedRolePolicy):
            _SHARED.put(policy.masking, shared_key, definition, rulings)
        return rulings

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
