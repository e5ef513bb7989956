"""What may leave the hub, as rules: for each kind of entity data and each field, shown, masked or withheld.

A policy answers one question — may this caller see this field of this subject? — and says why.
The gate (hub.disclosure.gate) asks it for every piece of entity data on its way out. The role
policy below holds the rules by role; `MaskedRolePolicy` refines them for third parties with the
masking policy in force (hub.catalog.masking_policies: by role, authorisation tier and field), which
the gate installs once per request (`Disclosure.prepare`). A policy that wraps the role policy
should offer `with_masking` too, or masking policies do not apply to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hub.auth.caller import Caller, Role
from hub.catalog.masking_policies import MaskingPolicy


class Item(StrEnum):
    """The kinds of entity data that leave the hub."""

    ENTITY = "entity"  # a registry entry: USCC, name, kind, district
    ARCHIVE = "archive"  # which of an entity's records a caller may list (scope, not fields)
    RECORD = "record"  # one field of a credit record's content (or "*": the record itself)
    SUPERVISION = "supervision"  # an entity's category, grade and measures in a domain
    CLASSIFICATION = "classification_change"  # a change of category (history and subscription)
    PUBLICATION = "inspection_publication"  # a drawn plan's publication (一公开)
    INSPECTOR = "inspector"  # a person of a department's inspector pool
    CONFLICT = "declared_conflict"  # an inspector's declared conflict with an entity
    PUSH_ANSWER = "push_answer"  # what a push or file load answers, per record or row
    MESSAGE = "message"  # the text of a problem, which may echo the input it is about
    OBJECTION = "objection"  # an objection or repair case: the entity's reason, the decision (issue 9)


class Decision(StrEnum):
    SHOWN = "shown"
    MASKED = "masked"
    WITHHELD = "withheld"


@dataclass(frozen=True, slots=True)
class Ruling:
    decision: Decision
    reason: str
    rule: str | None = None  # the masking rule's name, when masked


SHOWN = Ruling(Decision.SHOWN, "allowed")


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose data it is: the entity (USCC), and the organisation that produced or owns it."""

    uscc: str | None = None
    owner: str | None = None
    sensitivity: str | None = None  # the catalogue's sensitivity of a record field, where it has one
    # The field tier an authorisation of the entity grants this caller ("masked" or "full"; see
    # Disclosure.grant), None when the caller reads without one.
    tier: str | None = None
    # A record field's record type and catalogue field type, for the masking policy's decisions.
    record_type: str | None = None
    field_type: str | None = None


class DisclosurePolicy(Protocol):
    def rule(self, caller: Caller, item: Item, field: str, subject: Subject) -> Ruling:
        """How `field` ("*" for the object as a whole) of `item` about `subject` leaves to `caller`."""
        ...


# Who sees every archive in full: the platform's operators and the provincial platform.
FULL_VIEW_ROLES = frozenset({Role.CREDIT_OFFICE, Role.PROVINCE})
# The archive masked to a part of it: every current record, or those under publicity.
ARCHIVE_CURRENT, ARCHIVE_PUBLIC = "current", "public"


def _own_entity(caller: Caller, subject: Subject) -> bool:
    return (
        caller.role is Role.ENTITY and subject.uscc is not None and caller.organisation_code == subject.uscc
    )


def third_party(caller: Caller, subject: Subject) -> bool:
    """Whether the caller reads another's data: not the platform's operators or the province, not the
    entity itself, not the department that produced it. Masking policies govern what third parties see."""
    if caller.role in FULL_VIEW_ROLES or _own_entity(caller, subject):
        return False
    return not (
        caller.role is Role.DEPARTMENT
        and subject.owner is not None
        and caller.organisation_code == subject.owner
    )


class RolePolicy:
    """The rules by role (信用信息公示与共享 as the hub ran them before authorisations).

    - Archives: the credit office and the province see every record in full, an entity its own in
      full; a department sees every current record, with all fields of the records it produced and
      the public fields of the rest; everyone else sees records under publicity (公示期内), public
      fields only. A field the catalogue does not know is withheld: its sensitivity cannot be judged.
    - Inspectors' names: the planning department and the credit office in full; everyone else the
      first character (张三 → 张*).
    - Everything else the hub lets a caller ask for at all (the operation rules and the services'
      object checks decide that) leaves in full.
    """

    def rule(self, caller: Caller, item: Item, field: str, subject: Subject) -> Ruling:
        if item is Item.ARCHIVE:
            return self._archive(caller, subject)
        if item is Item.RECORD:
            return self._record_field(caller, field, subject)
        if item is Item.INSPECTOR and field == "name":
            if caller.role is Role.CREDIT_OFFICE or (
                caller.role is Role.DEPARTMENT and caller.organisation_code == subject.owner
            ):
                return SHOWN
            return Ruling(Decision.MASKED, "personal data of an inspector", rule="first_character")
        return SHOWN

    @staticmethod
    def _archive(caller: Caller, subject: Subject) -> Ruling:
        if caller.role in FULL_VIEW_ROLES or _own_entity(caller, subject):
            return SHOWN
        if caller.role is Role.DEPARTMENT:
            return Ruling(Decision.MASKED, "current records only", rule=ARCHIVE_CURRENT)
        return Ruling(Decision.MASKED, "records under publicity (公示期内) only", rule=ARCHIVE_PUBLIC)

    def _record_field(self, caller: Caller, field: str, subject: Subject) -> Ruling:
        if field == "*":
            return SHOWN  # which records a caller lists is the archive scope's business
        if caller.role in FULL_VIEW_ROLES or _own_entity(caller, subject):
            return SHOWN
        if caller.role is Role.DEPARTMENT and caller.organisation_code == subject.owner:
            return SHOWN  # the department's own record
        if subject.sensitivity == "public":
            return SHOWN
        if subject.sensitivity is None:
            return Ruling(Decision.WITHHELD, "field unknown to the record type's catalogue version")
        return Ruling(Decision.WITHHELD, f"{subject.sensitivity} field")

    def with_masking(self, masking: MaskingPolicy) -> DisclosurePolicy:
        """These rules refined, for third parties, by the masking policy in force."""
        return MaskedRolePolicy(masking, self)


# The items a masking policy's decisions can name.
_MASKABLE = frozenset({Item.RECORD, Item.ENTITY, Item.PUSH_ANSWER, Item.MESSAGE})


class MaskedRolePolicy:
    """The role rules, with a masking policy's decisions (hub.catalog.masking_policies) for third
    parties: the first decision matching the caller's role, the authorisation's tier (Subject.tier)
    and the field decides; when none does, or for the caller's own data, the role rules decide."""

    def __init__(self, masking: MaskingPolicy, base: RolePolicy) -> None:
        self.masking = masking
        self.base = base

    def rule(self, caller: Caller, item: Item, field: str, subject: Subject) -> Ruling:
        base = self.base.rule(caller, item, field, subject)
        if field == "*" or item not in _MASKABLE or not third_party(caller, subject):
            return base
        if item is Item.RECORD and subject.sensitivity is None:
            return base  # a field the catalogue does not know: withheld whatever the policy says
        decision = self.masking.decide(
            caller.role.value,
            subject.tier,
            item.value,
            subject.record_type,
            field,
            subject.field_type,
            subject.sensitivity,
        )
        if decision is None:
            return base
        return Ruling(Decision(decision.decision), decision.reason, decision.rule)

    def scans(self, caller: Caller, subject: Subject) -> bool:
        """Whether a shown value is scanned for ID and mobile numbers (free text, to a third party)."""
        return self.masking.scans(caller.role.value, subject.field_type, subject.sensitivity) and third_party(
            caller, subject
        )


class WithholdAll:
    """Withholds everything. Tests use it to prove that no entity value leaves without the gate."""

    def rule(self, caller: Caller, item: Item, field: str, subject: Subject) -> Ruling:
        return Ruling(Decision.WITHHELD, "withheld by policy")


ROLE_POLICY = RolePolicy()
