"""Live classification changes over graphql-transport-ws (authenticate in connection_init)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import GraphQLError

from hub.auth.caller import Role
from hub.db import unit_of_work
from hub.disclosure.policy import Subject
from hub.errors import HubError, Invalid
from hub.grading import changes
from schema.context import Info
from schema.grading.types import ClassificationChange
from schema.permissions import allow


@strawberry.type
class GradingSubscriptions:
    @strawberry.subscription(
        description="Changes of entities' categories in your supervision domains as they are committed "
        "(分类变更推送). A department follows its own domains, the credit office and the province any. "
        "Pass `afterId` (the last id you saw) to receive what you missed first. Over graphql-transport-ws "
        'with `{"authorization": "Bearer <token>"}` as the connection_init payload.',
        extensions=allow(Role.DEPARTMENT, Role.CREDIT_OFFICE, Role.PROVINCE),
    )
    async def classification_changed(
        self,
        info: Info,
        domains: Annotated[
            list[str] | None,
            strawberry.argument(description="Domain codes; all you may follow when omitted."),
        ] = None,
        after_id: Annotated[
            int | None, strawberry.argument(description="Replay changes after this id.")
        ] = None,
    ) -> AsyncGenerator[ClassificationChange, None]:
        context = info.context
        if context.sessions is None or context.listen_url is None:
            raise Invalid("subscriptions need the hub's own database connection", code="UNAVAILABLE")
        try:
            async with unit_of_work(context.sessions) as session:
                followed = await changes.subscribable_domains(session, context.caller, domains)
        except HubError as error:
            # Subscriptions bypass the unit of work that maps errors for queries: say it here.
            message = context.disclosure.message(
                error.message, Subject(owner=context.caller.organisation_code)
            )
            raise GraphQLError(message, extensions={"code": error.code, "path": error.path}) from None
        async for row in changes.stream(context.sessions, context.listen_url, followed, after_id):
            change = ClassificationChange.disclosed(context.disclosure, row)
            if change is not None:
                yield change
