"""Queries and mutations of authorisations (授权): purposes, the life cycle, authorised reads."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    value_from_ast_untyped,
)
from strawberry.scalars import JSON

from hub.auth.caller import Role
from hub.catalog.purposes import CLASSIFICATION, RECORDS, SUPERVISION
from hub.consents import purposes as purpose_admin
from hub.consents import service
from hub.consents.service import ANY_RECORDS, GrantRequest, ScopeItem, Use
from hub.disclosure.policy import Item, Subject
from hub.entities.service import checked_uscc
from hub.errors import Forbidden, Invalid
from hub.grading import service as grading
from hub.records.archive.service import PageRequest, RecordFilter
from schema.consents.types import Authorisation, AuthorisationState, FieldTier, Purpose, ScopeItemInput
from schema.consents.types import ScopeItem as ScopeItemType
from schema.context import Info
from schema.cursors import decode, decode_record_cursor, encode, page_size
from schema.errors import ConflictProblem, InvalidInput, NotFoundProblem, NotPermitted, json_object
from schema.grading.types import ClassificationChange, Supervision
from schema.permissions import ALL_ROLES, allow
from schema.records.types import RecordConnection, record_page

REQUESTERS = (Role.BANK, Role.ASSOCIATION)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


AuthorisationResult = Annotated[
    Authorisation | InvalidInput | NotPermitted | NotFoundProblem | ConflictProblem,
    strawberry.union("AuthorisationResult", description="The authorisation, or why not."),
]
PurposeResult = Annotated[
    Purpose | InvalidInput,
    strawberry.union("PurposeResult", description="The purpose as saved, or why not."),
]


@strawberry.type(
    description="An entity's data read under its authorisation (授权查询): only the items granted, at "
    "the tier granted. Each read is counted against the grant's caps."
)
class AuthorizedProfile:
    use: strawberry.Private[Use]

    @strawberry.field(
        description="The entity's USCC (统一社会信用代码); null when the disclosure policy withholds it."
    )
    def uscc(self, info: Info) -> str | None:
        uscc = self.use.grant.uscc
        return uscc if info.context.disclosure.admits(Item.ENTITY, Subject(uscc=uscc)) else None

    @strawberry.field(description="The authorisation read under.")
    def authorisation(self) -> strawberry.ID:
        return strawberry.ID(str(self.use.grant.id))

    @strawberry.field(description="Its purpose (授权用途).")
    def purpose(self) -> str:
        return self.use.grant.purpose

    @strawberry.field(description="The data items granted and their tiers (授权范围).")
    def scope(self) -> list[ScopeItemType]:
        return [ScopeItemType(item=i, tier=FieldTier(t)) for i, t in sorted(self.use.scope.items())]

    @strawberry.field(description="Reads of the grant in all, this one included.")
    def reads_used(self) -> int:
        return self.use.reads_used

    @strawberry.field(description="Reads of the grant today (China time), this one included.")
    def reads_today(self) -> int:
        return self.use.reads_today

    def _granted(self, item: str) -> None:
        if item not in self.use.scope:
            raise Forbidden(
                f"the authorisation does not cover {item}", code="OUT_OF_SCOPE", path="authorisation"
            )

    @strawberry.field(
        description="The entity's classification and measures in a domain (分级分类结果); item `supervision`."
    )
    async def supervision(
        self, info: Info, domain: Annotated[str, strawberry.argument(description="Supervision domain code.")]
    ) -> Supervision | None:
        self._granted(SUPERVISION)
        context = info.context
        [found] = await grading.supervision(
            context.session, context.caller, [self.use.grant.uscc], domain, context.today
        )
        return Supervision.disclosed(context.disclosure, found)

    @strawberry.field(
        description="Changes of the entity's classification (分类变更记录), newest first; item `classification`."
    )
    async def classification_history(
        self,
        info: Info,
        domain: Annotated[str | None, strawberry.argument(description="Only this domain.")] = None,
    ) -> list[ClassificationChange]:
        self._granted(CLASSIFICATION)
        context = info.context
        rows = await grading.history(context.session, context.caller, self.use.grant.uscc, domain)
        gate = context.disclosure
        return [change for r in rows if (change := ClassificationChange.disclosed(gate, r)) is not None]

    @strawberry.field(
        description="Credit records of the types granted (items `records.<type>`), newest decision first "
        "(paginated; `first` at most 100)."
    )
    async def records(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1-100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
        record_types: Annotated[
            list[str] | None, strawberry.argument(description="Only these record types (each granted).")
        ] = None,
    ) -> RecordConnection:
        granted = sorted(i[len(RECORDS) :] for i in self.use.scope if i.startswith(RECORDS))
        wanted = sorted(set(record_types)) if record_types else granted
        for record_type in wanted:
            self._granted(RECORDS + record_type)
        if not wanted:
            raise Forbidden("the authorisation covers no records", code="OUT_OF_SCOPE", path="authorisation")
        size = page_size(first, info.context.settings.max_page_size)
        flt = RecordFilter(record_types=tuple(wanted))
        cursor = decode_record_cursor(after) if after else None
        loaders = info.context.loaders
        views = await loaders.records.load(PageRequest(self.use.grant.uscc, flt, cursor, size + 1))
        total = await loaders.record_count.load((self.use.grant.uscc, flt))
        return record_page(views, size, total)


AuthorizedProfileResult = Annotated[
    AuthorizedProfile | InvalidInput | NotPermitted | NotFoundProblem | ConflictProblem,
    strawberry.union(
        "AuthorizedProfileResult",
        description="The data read under the authorisation, or why the read was refused (and logged).",
    ),
]


def _fields(selection_set: SelectionSetNode | None, info: Info) -> list[FieldNode]:
    """The fields of a selection set, through inline fragments and fragment spreads (the query's own
    syntax tree: the resolver's `selected_fields` converts the whole tree, costlier per request)."""
    found: list[FieldNode] = []
    for node in selection_set.selections if selection_set is not None else ():
        if isinstance(node, FieldNode):
            found.append(node)
        elif isinstance(node, InlineFragmentNode):
            found.extend(_fields(node.selection_set, info))
        elif isinstance(node, FragmentSpreadNode) and node.name.value in info._raw_info.fragments:
            found.extend(_fields(info._raw_info.fragments[node.name.value].selection_set, info))
    return found


def _record_types(field: FieldNode, info: Info) -> list[str] | None:
    """The `recordTypes` argument of a `records` field, literal or from a variable."""
    for argument in field.arguments or ():
        if argument.name.value == "recordTypes":
            value = value_from_ast_untyped(argument.value, info.variable_values)
            if isinstance(value, list):
                return [str(v) for v in value]
            return [str(value)] if isinstance(value, str) else None
    return None


def asked_items(info: Info) -> list[str]:
    """The data items the query reads of the profile, so a read of an item not granted is refused
    before it is counted."""
    items: set[str] = set()
    for root in info._raw_info.field_nodes:
        for field in _fields(root.selection_set, info):
            if field.name.value == "supervision":
                items.add(SUPERVISION)
            elif field.name.value == "classificationHistory":
                items.add(CLASSIFICATION)
            elif field.name.value == "records":
                types = _record_types(field, info)
                if types:
                    items.update(RECORDS + t for t in types)
                else:
                    items.add(ANY_RECORDS)
    return sorted(items)


def _states(states: list[AuthorisationState] | None) -> list[str] | None:
    return [str(s.value) for s in states] if states else None


def _after(cursor: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    at, last = decode(cursor, 2)
    try:
        return dt.datetime.fromisoformat(at), uuid.UUID(last)
    except ValueError:
        raise Invalid("the cursor is not one this API gave out", code="BAD_CURSOR", path="after") from None


@strawberry.type(description="A page of authorisations, newest request first.")
class AuthorisationPage:
    items: list[Authorisation] = strawberry.field(description="The authorisations of this page.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null: none.")


@strawberry.type
class ConsentQueries:
    @strawberry.field(
        description="Purposes of authorisations (授权用途) and their caps, in force.",
        extensions=allow(*ALL_ROLES),
    )
    async def purposes(self, info: Info) -> list[Purpose]:
        return [Purpose.of(p, v) for p, v in await purpose_admin.purposes(info.context.session)]

    @strawberry.field(
        description="Authorisations: an entity's own (given), a bank's or association's (asked), or every "
        "one for the credit office; newest request first.",
        extensions=allow(Role.ENTITY, *REQUESTERS, Role.CREDIT_OFFICE),
    )
    async def authorisations(
        self,
        info: Info,
        states: Annotated[
            list[AuthorisationState] | None, strawberry.argument(description="Only these stored states.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 1-100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> AuthorisationPage:
        context = info.context
        size = page_size(first, context.settings.max_page_size)
        rows = await service.listing(
            context.session, context.caller, states=_states(states), after=_after(after), limit=size + 1
        )
        now = _now()
        shown = [a for r in rows[:size] if (a := Authorisation.disclosed(context.disclosure, r, now))]
        last = rows[size - 1] if len(rows) > size else None
        cursor = encode(last.requested_at.isoformat(), str(last.id)) if last is not None else None
        return AuthorisationPage(items=shown, end_cursor=cursor)

    @strawberry.field(
        description="One authorisation, for the entity that gave it, the organisation it was given to, "
        "or the credit office.",
        extensions=allow(Role.ENTITY, *REQUESTERS, Role.CREDIT_OFFICE),
    )
    async def authorisation(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")]
    ) -> AuthorisationResult:
        context = info.context
        row = await service.visible(context.session, context.caller, str(id))
        found = Authorisation.disclosed(context.disclosure, row, _now())
        if found is None:
            raise Forbidden("withheld by the disclosure policy", code="WITHHELD", path="id")
        return found

    @strawberry.field(
        description="An entity's ratings (分级分类), classification history and archive read under its "
        "authorisation (授权查询), within the scope and at the tier granted. Refused with a code when the "
        "grant is not yours, not this entity's, not approved, paused, revoked, expired, over a cap or "
        "does not cover what is asked; each read and each refusal is logged.",
        extensions=allow(*REQUESTERS),
    )
    async def authorized_profile(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC (统一社会信用代码).")],
        authorisation: Annotated[strawberry.ID, strawberry.argument(description="The authorisation's id.")],
    ) -> AuthorizedProfileResult:
        code = checked_uscc(uscc)
        context = info.context
        use = await service.use(
            context.session,
            context.caller,
            code,
            str(authorisation),
            asked_items(info),
            _now(),
            context.disclosure,
        )
        return AuthorizedProfile(use=use)


def _authorisation(info: Info, row: Any) -> Authorisation:
    found = Authorisation.disclosed(info.context.disclosure, row, _now())
    if found is None:
        raise Forbidden("withheld by the disclosure policy", code="WITHHELD", path="id")
    return found


IdArgument = Annotated[strawberry.ID, strawberry.argument(description="The authorisation's id.")]
ReasonArgument = Annotated[
    str | None, strawberry.argument(description="Why, in 1-200 characters (shown to the requester).")
]


@strawberry.type
class ConsentMutations:
    @strawberry.mutation(
        description="Add or amend a purpose (授权用途) and its caps (credit office); stored as a new version.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def save_purpose(
        self,
        info: Info,
        purpose: Annotated[
            JSON, strawberry.argument(description="The purpose, as `purposes` shows it (snake_case keys).")
        ],
    ) -> PurposeResult:
        saved, version = await purpose_admin.save_purpose(
            info.context.session, json_object(purpose, "purpose"), info.context.caller.label
        )
        return Purpose.of(saved, version)

    @strawberry.mutation(
        description="Ask an entity for an authorisation (申请授权) for a purpose, within its caps (bank, "
        "association); it waits for the entity's approval.",
        extensions=allow(*REQUESTERS),
    )
    async def request_authorisation(
        self,
        info: Info,
        uscc: Annotated[str, strawberry.argument(description="The entity's USCC.")],
        purpose: Annotated[str, strawberry.argument(description="A purpose code of `purposes`.")],
        scope: Annotated[
            list[ScopeItemInput], strawberry.argument(description="The data items and tiers asked for.")
        ],
        validity_days: Annotated[int, strawberry.argument(description="Validity from approval, in days.")],
        reads_per_day: Annotated[
            int | None, strawberry.argument(description="Most reads a day; the purpose's cap when null.")
        ] = None,
        reads_total: Annotated[
            int | None, strawberry.argument(description="Most reads in all; the purpose's cap when null.")
        ] = None,
    ) -> AuthorisationResult:
        context = info.context
        grant = GrantRequest(
            uscc=checked_uscc(uscc),
            purpose=purpose,
            scope=[
                ScopeItem(item=s.item, tier="full" if s.tier is FieldTier.FULL else "masked") for s in scope
            ],
            validity_days=validity_days,
            reads_per_day=reads_per_day,
            reads_total=reads_total,
        )
        return _authorisation(info, await service.request(context.session, context.caller, grant, _now()))

    @strawberry.mutation(
        description="Approve an authorisation asked of you (entity): it is signed and active from now.",
        extensions=allow(Role.ENTITY),
    )
    async def approve_authorisation(self, info: Info, id: IdArgument) -> AuthorisationResult:
        context = info.context
        row = await service.approve(context.session, context.caller, context.keys, str(id), _now())
        return _authorisation(info, row)

    @strawberry.mutation(
        description="Reject an authorisation asked of you (entity).", extensions=allow(Role.ENTITY)
    )
    async def reject_authorisation(
        self, info: Info, id: IdArgument, reason: ReasonArgument = None
    ) -> AuthorisationResult:
        context = info.context
        return _authorisation(
            info, await service.step(context.session, context.caller, "reject", str(id), _now(), reason)
        )

    @strawberry.mutation(
        description="Pause an active authorisation of yours (entity): reads are refused from the next one.",
        extensions=allow(Role.ENTITY),
    )
    async def pause_authorisation(self, info: Info, id: IdArgument) -> AuthorisationResult:
        context = info.context
        return _authorisation(
            info, await service.step(context.session, context.caller, "pause", str(id), _now())
        )

    @strawberry.mutation(
        description="Resume a paused authorisation of yours (entity).", extensions=allow(Role.ENTITY)
    )
    async def resume_authorisation(self, info: Info, id: IdArgument) -> AuthorisationResult:
        context = info.context
        return _authorisation(
            info, await service.step(context.session, context.caller, "resume", str(id), _now())
        )

    @strawberry.mutation(
        description="Revoke an authorisation of yours, or a request (entity; 撤销授权): for good, from the "
        "next read on.",
        extensions=allow(Role.ENTITY),
    )
    async def revoke_authorisation(
        self, info: Info, id: IdArgument, reason: ReasonArgument = None
    ) -> AuthorisationResult:
        context = info.context
        return _authorisation(
            info, await service.step(context.session, context.caller, "revoke", str(id), _now(), reason)
        )
