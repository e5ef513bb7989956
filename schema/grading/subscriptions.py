"""Live classification changes over graphql-transport-ws (authenticate in connection_init)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import GraphQLError

from hub.auth.caller import Role
from hub.db import unit_of_work
from hub.disclosure.policy import Subject
from hub.errors import HubError, Invalid
from hub.grading import changes
from hub.metrics import SUBSCRIPTION_OUTCOME_OF_CODE
from hub.notifications import SubscriptionRefused, admission
from schema.context import HubContext, Info
from schema.grading.types import ClassificationChange
from schema.permissions import allow

log = logging.getLogger(__name__)


def _count(context: HubContext, outcome: str) -> None:
    if context.metrics is not None:
        context.metrics.subscription(outcome)


def _refusal(context: HubContext, error: HubError) -> GraphQLError:
    # Subscriptions bypass the unit of work that maps errors for queries: say it here.
    message = context.disclosure.message(error.message, Subject(owner=context.caller.organisation_code))
    return GraphQLError(message, extensions={"code": error.code, "path": error.path})


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
        caller = context.caller.organisation_code or context.caller.role.value
        admitted = False
        try:
            if context.sessions is None or context.listen_url is None:
                raise Invalid("subscriptions need the hub's own database connection", code="UNAVAILABLE")
            with admission.admit(
                context,
                caller,
                per_connection=context.settings.max_subscriptions_per_connection,
                per_caller=context.settings.max_subscriptions_per_caller,
            ):
                async with unit_of_work(context.sessions) as session:
                    followed = await changes.subscribable_domains(session, context.caller, domains)
                admitted = True
                _count(context, "admitted")
                async for row in changes.stream(context.sessions, context.listen_url, followed, after_id):
                    change = ClassificationChange.disclosed(context.disclosure, row)
                    if change is not None:
                        yield change
        except HubError as error:
            _count(context, "failed" if admitted else SUBSCRIPTION_OUTCOME_OF_CODE.get(error.code, "refused"))
            raise _refusal(context, error) from None
        except Exception as error:
            _count(context, "failed" if admitted else "refused")
            # A database failure (the server gone, no connection left): its text can carry SQL and
            # names, so neither the client nor the log gets it; the log has its kind.
            log.error("subscription failed", extra={"error_type": type(error).__name__})
            refused = SubscriptionRefused("the subscription failed; subscribe again (with afterId)")
            raise _refusal(context, refused) from None
