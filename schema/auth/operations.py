"""Who am I; organisations and tokens, managed by the credit office."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from hub.auth import service
from hub.auth.caller import Role
from schema.context import Info
from schema.entities.types import Organisation, RoleName
from schema.errors import ConflictProblem, InvalidInput, NotFoundProblem
from schema.permissions import ALL_ROLES, allow


@strawberry.type(description="The caller as the hub sees it.")
class Me:
    role: RoleName = strawberry.field(description="The caller's role; `public` without a token.")
    organisation: Organisation | None = strawberry.field(description="The calling organisation, if any.")


@strawberry.type(description="A newly issued bearer token. The secret is shown only here, once.")
class IssuedToken:
    id: int = strawberry.field(description="Token id, for revocation.")
    secret: str = strawberry.field(
        description="Send as `Authorization: Bearer <secret>`. Not stored by the hub."
    )
    expires_at: dt.datetime = strawberry.field(description="When it stops working.")
    organisation: Organisation = strawberry.field(description="Whose token it is.")


@strawberry.type(description="A revoked token.")
class RevokedToken:
    id: int = strawberry.field(description="Token id.")
    revoked_at: dt.datetime = strawberry.field(description="When it was revoked.")


IssueTokenResult = Annotated[
    IssuedToken | InvalidInput | NotFoundProblem,
    strawberry.union("IssueTokenResult", description="The token, or why none was issued."),
]
RevokeTokenResult = Annotated[
    RevokedToken | NotFoundProblem | ConflictProblem,
    strawberry.union("RevokeTokenResult", description="The revoked token, or why not."),
]
RegisterOrganisationResult = Annotated[
    Organisation | InvalidInput | ConflictProblem,
    strawberry.union("RegisterOrganisationResult", description="The organisation, or why not."),
]


@strawberry.type
class AuthQueries:
    @strawberry.field(description="Who the hub takes the caller to be.", extensions=allow(*ALL_ROLES))
    async def me(self, info: Info) -> Me:
        caller = info.context.caller
        organisation = None
        if caller.organisation_code:
            row = await info.context.loaders.organisation.load(caller.organisation_code)
            organisation = Organisation.of(row) if row else None
        return Me(role=RoleName(caller.role.value), organisation=organisation)

    @strawberry.field(
        description="Organisations registered with the hub (credit office only).",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def organisations(
        self,
        info: Info,
        role: Annotated[RoleName | None, strawberry.argument(description="Only this role.")] = None,
    ) -> list[Organisation]:
        rows = await service.list_organisations(info.context.session, str(role.value) if role else None)
        return [Organisation.of(r) for r in rows]


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description="Register a calling organisation with its role (credit office only).",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def register_organisation(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The organisation's USCC.")],
        name: Annotated[str, strawberry.argument(description="Its name.")],
        role: Annotated[RoleName, strawberry.argument(description="Its role.")],
        authority_domain: Annotated[
            str | None,
            strawberry.argument(description="e.g. market_regulation (selects SAMR publicity rules)."),
        ] = None,
    ) -> RegisterOrganisationResult:
        row = await service.register_organisation(
            info.context.session,
            code,
            name,
            Role(str(role.value)),
            authority_domain,
            by=info.context.caller.label,
        )
        return Organisation.of(row)

    @strawberry.mutation(
        description="Issue a bearer token to an organisation (credit office only). The secret is returned once.",
        extensions=allow(Role.CREDIT_OFFICE),
    )
    async def issue_token(
        self,
        info: Info,
        organisation_code: Annotated[str, strawberry.argument(description="The organisation's USCC.")],
        label: Annotated[str, strawberry.argument(description="What the token is for.")] = "token",
        days: Annotated[int, strawberry.argument(description="Lifetime in days, 1 to 366.")] = 90,
    ) -> IssueTokenResult:
        context = info.context
        issued = await service.issue_token(
            context.session, organisation_code, label, days, by=context.caller.label
        )
        organisation = await service.organisations(context.session, [issued.token.organisation_code])
        assert organisation[0] is not None
        return IssuedToken(
            id=issued.token.id,
            secret=issued.secret,
            expires_at=issued.token.expires_at,
            organisation=Organisation.of(organisation[0]),
        )

    @strawberry.mutation(
        description="Revoke a token at once (credit office only).", extensions=allow(Role.CREDIT_OFFICE)
    )
    async def revoke_token(
        self, info: Info, token_id: Annotated[int, strawberry.argument(description="The token's id.")]
    ) -> RevokeTokenResult:
        token = await service.revoke_token(info.context.session, token_id, by=info.context.caller.label)
        assert token.revoked_at is not None
        return RevokedToken(id=token.id, revoked_at=token.revoked_at)
